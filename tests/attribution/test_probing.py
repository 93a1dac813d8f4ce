"""Layer-wise probes (attribution/probing.py) and the no-op check (attribution/attention_noop.py)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from attribution.data import Example
from attribution.errors import AttributionInputError
from attribution.probing import (
    LayerProber,
    control_labels,
    has_negation,
    length_buckets,
    probe_accuracy,
    probe_layers,
    shuffle_words,
)

VOCAB = [f"w{i}" for i in range(300)]


def _toy(n: int = 400, layers: int = 5, dim: int = 16, carrier: int = 2, seed: int = 0):
    """Noise at every layer; only layer ``carrier`` adds the label along a fixed direction."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    states = rng.normal(size=(layers, n, dim))
    direction = rng.normal(size=dim)
    states[carrier] += 3.0 * np.outer(2 * y - 1, direction) / np.linalg.norm(direction)
    r = random.Random(seed)
    texts = [" ".join(r.choices(VOCAB, k=r.randint(4, 9))) for _ in range(n)]
    return states, y.tolist(), texts


def test_probe_finds_the_layer_that_carries_the_label():
    states, y, texts = _toy(carrier=2)
    res = probe_layers("label", {"cls": states, "mean": states}, y, texts, ["a", "b"])
    acc = res.accuracy("cls")
    assert res.best_layer("cls") == 2
    assert acc[2] > 0.95
    for layer in (0, 1, 3, 4):
        assert abs(acc[layer] - 0.5) < 0.1, acc
    # the control task on the same features is near chance everywhere, so selectivity is high
    # exactly at the carrier layer
    for layer, row in enumerate(res.layers):
        ctrl = row["cls"]["control"]
        assert ctrl.accuracy < ctrl.majority + 0.08, (layer, ctrl)
    assert res.selectivity("cls")[2] > 0.35
    assert int(np.argmax(res.selectivity("cls"))) == 2
    js = res.to_json()
    assert js["best_layer"]["cls"] == 2 and len(js["layers"]) == 5


def test_probe_accuracy_interval_and_rare_class():
    x = np.arange(40, dtype=float)[:, None]
    y = [int(v >= 20) for v in range(40)]
    score = probe_accuracy(x, y, folds=4)
    assert score is not None and score.accuracy > 0.9 and score.low < score.accuracy <= score.high
    assert score.n == 40 and score.majority == 0.5
    assert probe_accuracy(x, [0] * 39 + [1]) is None  # one example of a class: no CV possible


def test_control_labels_are_a_function_of_word_types():
    texts = ["a b c", "c b a", "d e", "e d", "a"]
    ctrl = control_labels(texts, [0, 1, 0, 1, 0], seed=3)
    assert ctrl[0] == ctrl[1] and ctrl[2] == ctrl[3]  # same bag of types, same control class
    assert control_labels(texts, [0, 1, 0, 1, 0], seed=3) == ctrl


def test_property_helpers():
    assert has_negation("this isn't good") and has_negation("Not at all")
    assert not has_negation("a knotty nothingness")
    ids, edges = length_buckets(["a", "a b", "a b c", "a b c d", "a b c d e", "a b c d e f"])
    assert ids == sorted(ids) and len(set(ids)) == 3 and len(edges) == 2
    rng = random.Random(0)
    s = shuffle_words("one two three four", rng)
    assert s is not None and s != "one two three four" and sorted(s.split()) == sorted(
        "one two three four".split())
    assert shuffle_words("same same", rng) is None


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory):
    from attribution.model_loading import load_classifier
    from tests.attacks.planted import make_examples, train_planted_model

    path = train_planted_model(Path(tmp_path_factory.mktemp("probe_planted")), seed=0)
    return load_classifier(path, device="cpu"), make_examples(240, seed=11)


def test_prober_on_a_trained_model(planted):
    clf, examples = planted
    examples = [Example(e.text + (" not" if i % 3 == 0 else ""), e.pair, e.label)
                for i, e in enumerate(examples)]
    report = LayerProber(clf.model, clf.tokenizer, clf.labels).probe(examples, folds=4)
    assert set(report.properties) == {"label", "length", "word_order", "negation"}
    label = report.properties["label"]
    assert len(label.layers) == clf.num_layers + 1
    # embeddings-layer [CLS] is the same vector for every input: the probe can only guess
    first = label.layers[0]["cls"]["task"]
    assert first.accuracy <= first.majority + 0.02
    # the classifier reads the top [CLS]: the task label is decodable there
    assert label.accuracy("cls")[-1] > 0.9
    # negation is a single word here: bag-of-words (mean-pooled embeddings) decodes it
    assert report.properties["negation"].accuracy("mean")[0] > 0.9
    js = report.to_json()
    assert js["layer_names"][0] == "embeddings" and js["num_examples"] == 240


def test_prober_rejects_bad_input(planted):
    clf, examples = planted
    prober = LayerProber(clf.model, clf.tokenizer, clf.labels)
    with pytest.raises(AttributionInputError, match="unknown probing properties"):
        prober.probe(examples, properties=["syntax"])
    with pytest.raises(AttributionInputError, match="at least"):
        prober.probe(examples[:5], folds=5)
    unlabelled = [Example(e.text) for e in examples[:40]]
    rep = prober.probe(unlabelled, properties=["label", "length"], folds=2)
    assert "label" in rep.skipped and "length" in rep.properties


def test_noop_check_rows_sum_to_one_and_gradient_matches_an_override(planted):
    from attribution.attention_noop import noop_check
    from attribution.intervention import AttentionIntervention

    clf, examples = planted
    batch = examples[:6]
    res = noop_check(clf.model, clf.tokenizer, batch, batch_size=4)
    for layer in range(clf.num_layers):
        total = sum(res.attention[k][layer] for k in ("sep", "cls", "other"))
        assert total == pytest.approx(1.0, abs=1e-5)
    # independent gradient: add a zero leaf to layer 1's probabilities, one example at a time
    inter = AttentionIntervention(clf.model)
    from attribution.data import encode

    total, count = 0.0, 0
    for ex in batch:
        enc = encode(clf.tokenizer, [ex])
        delta = None

        def add(p):
            nonlocal delta
            delta = torch.zeros_like(p, requires_grad=True)
            return p + delta

        with torch.enable_grad(), inter.override(1, add):
            logits = clf.model(**enc).logits
            torch.nn.functional.cross_entropy(logits, torch.tensor([ex.label])).backward()
        sep = enc["input_ids"][0] == clf.tokenizer.sep_token_id
        total += float(delta.grad[0][:, :, sep].abs().sum())
        count += int(sep.sum()) * delta.shape[1] * delta.shape[2]
        clf.model.zero_grad(set_to_none=True)
    assert res.gradient["sep"][1] == pytest.approx(total / count, rel=1e-4)
