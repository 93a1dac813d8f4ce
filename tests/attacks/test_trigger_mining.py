"""Trigger mining: the paper's per-example rules on hand-made scores, and the planted shortcut."""

import pytest
import torch
from transformers import AutoTokenizer

from attacks.trigger_attack import evaluate_triggers
from attacks.trigger_file import Trigger
from attacks.trigger_mining import (
    MiningOptions,
    aggregate_patterns,
    mine_triggers,
    pattern_from_result,
    rank_by_damage,
)
from attribution.attention_attribution import AttentionAttribution, AttributionResult
from attribution.data import Example
from attribution.model_loading import load_classifier
from tests.attacks.planted import PAIR, make_examples, train_planted_model


def _result(tokens, entries, delta=(1.0, 1.0)):
    """A hand-made AttributionResult: 2 layers, 2 heads, given (l, h, i, j) -> score entries;
    ``delta`` is F(A) - F(0) per layer."""
    T = len(tokens)
    scores = torch.zeros(2, 2, T, T)
    for (layer, h, i, j), v in entries.items():
        scores[layer, h, i, j] = v
    return AttributionResult(tokens=tokens, prediction=1, probabilities=[0.2, 0.8], target=1,
                             scores=scores, completeness_gap=[0.0, 0.0], method="x", steps=1,
                             path_delta=list(delta))


@pytest.fixture(scope="module")
def tok(tiny_bert_dir):
    return AutoTokenizer.from_pretrained(tiny_bert_dir)


def test_per_example_rules(tok):
    ex = Example("the dogs sat on a mat")  # [CLS] the dog ##s sat on a mat [SEP]
    tokens = tok.convert_ids_to_tokens(tok(ex.text)["input_ids"])
    assert tokens[2:4] == ["dog", "##s"]
    opts = MiningOptions()
    # head (1, 0) holds the maximum; its top-2: sat->##s (0.5), [CLS]->mat (0.2)
    r = _result(tokens, {(1, 0, 4, 3): 0.5, (1, 0, 0, 7): 0.2, (0, 1, 1, 1): 0.3})
    p = pattern_from_result(r, ex, tok, 0, opts)
    assert (p.layer, p.head) == (1, 0)
    assert p.words == ["dogs", "sat", "mat"]  # word-pieces merged, [CLS] dropped
    assert p.relative_positions == [1 / 5, 2 / 5, 5 / 5]
    assert p.pair_scores == pytest.approx([0.5, 0.2])
    # second < 0.2 x first: only the top-1 pair
    r = _result(tokens, {(1, 0, 4, 3): 0.5, (1, 0, 0, 7): 0.09})
    assert pattern_from_result(r, ex, tok, 0, opts).words == ["dogs", "sat"]
    assert pattern_from_result(r, ex, tok, 0, MiningOptions(second_ratio=0.0)).words == ["dogs", "sat", "mat"]
    # absolute mode (reference code): summed score under 0.02 dropped
    r = _result(tokens, {(1, 0, 4, 3): 0.012, (1, 0, 0, 7): 0.007})
    absolute = MiningOptions(threshold_mode="absolute", threshold=0.02)
    assert pattern_from_result(r, ex, tok, 0, absolute) is None
    assert pattern_from_result(r, ex, tok, 0, MiningOptions(threshold_mode="absolute", threshold=0.01)) is not None
    # relative mode (default): the same tiny scores pass when the layer's F(A) - F(0) is tiny too
    r = _result(tokens, {(1, 0, 4, 3): 0.012, (1, 0, 0, 7): 0.007}, delta=(0.0, 0.03))
    p = pattern_from_result(r, ex, tok, 0, opts)
    assert p is not None and p.relative_score == pytest.approx(0.019 / 0.03, rel=1e-5)
    # ... and fail when they are under 5% of it, or when the layer carries nothing (|delta| < 1e-5)
    assert pattern_from_result(_result(tokens, {(1, 0, 4, 3): 0.012, (1, 0, 0, 7): 0.007},
                                       delta=(0.0, 0.5)), ex, tok, 0, opts) is None
    assert pattern_from_result(_result(tokens, {(1, 0, 4, 3): 1e-6}, delta=(0.0, 2e-6)),
                               ex, tok, 0, opts) is None
    with pytest.raises(ValueError, match="valid: relative, absolute"):
        MiningOptions(threshold_mode="fraction")
    # only special tokens: nothing to insert
    r = _result(tokens, {(1, 0, 0, 8): 0.5, (1, 0, 8, 0): 0.4})
    assert pattern_from_result(r, ex, tok, 0, opts) is None


def test_aggregation_merges_orders_and_ranks(tok):
    ex1, ex2 = Example("red sat dog"), Example("dog on red cat")
    t1 = tok.convert_ids_to_tokens(tok(ex1.text)["input_ids"])
    t2 = tok.convert_ids_to_tokens(tok(ex2.text)["input_ids"])
    p1 = pattern_from_result(_result(t1, {(0, 0, 1, 3): 0.3}), ex1, tok, 0, MiningOptions())
    p2 = pattern_from_result(_result(t2, {(0, 0, 3, 1): 0.2}), ex2, tok, 1, MiningOptions())
    p3 = pattern_from_result(_result(t1, {(0, 0, 2, 2): 0.4}), ex1, tok, 2, MiningOptions())
    trig = aggregate_patterns([p1, p2, p3], ["neg", "pos"], MiningOptions())
    assert [t.tokens for t in trig] == [["red", "dog"], ["sat"]]  # 0.5 summed beats 0.4
    assert trig[0].support == 2 and trig[0].label_support == {"pos": 2}
    # red at 0 and 2/3, dog at 1 and 0: averaged, then ordered by position
    assert trig[0].relative_positions == pytest.approx([1 / 3, 0.5])
    by_max = aggregate_patterns([p1, p2, p3], ["neg", "pos"], MiningOptions(rank_by="attribution_max"))
    assert [t.tokens for t in by_max] == [["sat"], ["red", "dog"]]
    with pytest.raises(ValueError, match="valid: attribution_sum"):
        MiningOptions(rank_by="magic")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_shortcut_is_mined_and_flips(seed, tmp_path):
    path = train_planted_model(tmp_path / "m", seed=seed)
    loaded = load_classifier(path)
    triggers, patterns = mine_triggers(AttentionAttribution(loaded), make_examples(60, 50 + seed))
    top = triggers[0]
    assert sorted(top.tokens) == sorted(PAIR)
    assert top.pushed_label_name == "planted"
    assert top.support >= 8  # most of the 15 planted mining examples agree
    held_out = [e for e in make_examples(200, 900 + seed) if e.label == 0]
    report = evaluate_triggers(loaded.model, loaded.tokenizer, held_out, triggers[:3])
    other = report.results[0].per_class[0]
    assert other.clean_accuracy > 0.9
    assert other.triggered_accuracy < 0.2  # the mined pair flips most inputs of the other label
    assert report.results[0].attack_success_rate > 0.8


def test_rank_by_damage_promotes_the_harmful_trigger(planted_model_dir):
    loaded = load_classifier(planted_model_dir)
    weak = Trigger(tokens=["cat"], segments=[0], relative_positions=[0.5], scores={"rank": 9.0})
    strong = Trigger(tokens=["red", "dog"], segments=[0, 0], relative_positions=[0.3, 0.6])
    val = [e for e in make_examples(80, 77) if e.label == 0]
    ranked = rank_by_damage(loaded.model, loaded.tokenizer, [weak, strong], val)
    assert ranked[0] is strong and ranked[0].scores["damage"] > 0.8
    assert ranked[1].scores["damage"] < 0.3


def test_sentence_pairs_mine_and_flip(planted_pair_model_dir):
    """Pair task: the planted words live in the first segment; the trigger keeps that segment."""
    loaded = load_classifier(planted_pair_model_dir)
    mining = make_examples(48, 61, pair_task=True)
    triggers, _ = mine_triggers(AttentionAttribution(loaded), mining)
    # single-example patterns of the other class can outscore it on attribution alone ...
    assert any(sorted(t.tokens) == sorted(PAIR) for t in triggers[:5])
    # ... the damage ranking on a validation slice puts the planted pair first
    val = make_examples(40, 63, pair_task=True)
    top = rank_by_damage(loaded.model, loaded.tokenizer, triggers, val, candidates=10)[0]
    assert sorted(top.tokens) == sorted(PAIR) and top.segments == [0, 0]
    assert top.support >= 3 and top.pushed_label_name == "planted"
    held_out = [e for e in make_examples(120, 62, pair_task=True) if e.label == 0]
    res = evaluate_triggers(loaded.model, loaded.tokenizer, held_out, [top]).results[0]
    assert res.attack_success_rate > 0.8
    f = res.flipped[0]
    assert f["triggered_pair"] == f["pair"]  # the second segment is untouched


def test_trigger_words_are_whitespace_words_not_pretokens(tiny_bert_dir):
    """BERT's pre-tokenizer splits SST-2's ``n't`` into n / ' / t; a mined trigger word must be
    the whitespace word ``n't`` (the demo once reported a trigger "too much t enough")."""
    from transformers import AutoTokenizer

    from attacks.trigger_mining import _token_words
    from attribution.data import Example

    tok = AutoTokenizer.from_pretrained(tiny_bert_dir)
    ex = Example("it is n't good", pair="the cat's mat")
    n = len(tok(ex.text, ex.pair)["input_ids"])
    words = _token_words(tok, ex, n)
    real = [w for w in words if w is not None]
    assert {(s, word, i) for s, word, i, _ in real} == {
        (0, "it", 0), (0, "is", 1), (0, "n't", 2), (0, "good", 3),
        (1, "the", 0), (1, "cat's", 1), (1, "mat", 2),
    }
    assert sum(1 for w in real if w[1] == "n't") >= 3  # n, ', t all map to the one word
    assert words[0] is None and words[-1] is None  # [CLS] ... [SEP]
