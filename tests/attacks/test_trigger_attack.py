"""Batched trigger evaluation: agrees with a naive per-example loop; planted pair flips."""

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from attacks.trigger_attack import evaluate_triggers
from attacks.trigger_file import Trigger
from attacks.trigger_insertion import insert_into_texts, trigger_rng
from tests.attacks.planted import make_examples


def _load(path):
    return AutoModelForSequenceClassification.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


TRIGGERS = [
    Trigger(tokens=["red", "dog"], segments=[0, 0], relative_positions=[0.2, 0.8]),
    Trigger(tokens=["cat"], segments=[0], relative_positions=[0.5]),
    Trigger(tokens=["dog", "red"], segments=[0, 0], relative_positions=[0.0, 0.0], position="random"),
]


def test_matches_naive_loop(planted_model_dir):
    model, tok = _load(planted_model_dir)
    examples = make_examples(32, seed=11)
    report = evaluate_triggers(model, tok, examples, TRIGGERS, batch_size=7, seed=3)
    assert report.num_queries == 32 * 4
    for k, (trig, res) in enumerate(zip(TRIGGERS, report.results, strict=True)):
        correct = flipped = 0
        per_class_hits = {0: 0, 1: 0}
        for ex in examples:
            with torch.no_grad():
                clean = model(**tok(ex.text, return_tensors="pt")).logits.argmax().item()
                t, _ = insert_into_texts(ex.text, None, trig, rng=trigger_rng(3, k, ex.text, None))
                trig_pred = model(**tok(t, return_tensors="pt")).logits.argmax().item()
            correct += clean == ex.label
            flipped += clean == ex.label and trig_pred != clean
            per_class_hits[ex.label] += trig_pred == ex.label
        assert res.num_correct == correct and res.num_flipped == flipped
        for c in res.per_class:
            assert abs(c.triggered_accuracy - per_class_hits[c.label] / c.num_examples) < 1e-9


def test_planted_pair_flips_other_class(planted_model_dir):
    model, tok = _load(planted_model_dir)
    examples = make_examples(200, seed=5)
    report = evaluate_triggers(model, tok, examples, TRIGGERS[:2], keep_flipped=None)
    pair, single = report.results
    other = next(c for c in pair.per_class if c.label == 0)
    planted = next(c for c in pair.per_class if c.label == 1)
    assert other.clean_accuracy > 0.95 and other.triggered_accuracy < 0.1
    assert planted.drop < 0.05  # pushing toward the label it already has changes nothing
    assert pair.pushed_toward == {"planted": pair.num_flipped}
    # per gold class: where the triggered predictions go
    assert other.triggered_predictions["planted"] > 0.9 * other.num_examples
    assert sum(other.triggered_predictions.values()) == other.num_examples
    assert pair.attack_success_rate > 0.7
    assert len(pair.flipped) == pair.num_flipped
    f = pair.flipped[0]
    assert "red" in f["triggered_text"].split() and "dog" in f["triggered_text"].split()
    # a filler word is not a trigger
    assert single.attack_success_rate < 0.25 < pair.attack_success_rate
    js = report.to_json()
    assert js["results"][0]["per_class"][0]["drop"] == other.drop
