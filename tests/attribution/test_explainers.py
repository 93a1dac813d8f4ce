"""Token explainers: registry, shapes, completeness of IG, LRP forward, known-token model."""

from __future__ import annotations

import pytest
import torch

from attribution.data import Example, encode
from attribution.errors import AttributionInputError
from attribution.explainers import EXPLAINERS, get_explainer
from attribution.explainers.gradients import _target_prob
from tests.attribution.heads_fixtures import good_detector, good_sentences, tiny_loaded  # noqa: F401

NO_ENGINE = [n for n in EXPLAINERS if n != "attattr"]


def test_registry_lists_valid_names(tiny_loaded):  # noqa: F811
    with pytest.raises(AttributionInputError, match="valid: attention, rollout"):
        get_explainer("shap", tiny_loaded)


@pytest.mark.parametrize("name", NO_ENGINE)
def test_one_score_per_token_and_word_merging(tiny_loaded, name):  # noqa: F811
    ex = Example("the cats sat on the mat", label=1)
    out = get_explainer(name, tiny_loaded).explain([ex], target="gold", merge_wordpieces=True)[0]
    assert len(out.scores) == len(out.tokens) == len(out.special)
    assert out.tokens[0] == "[CLS]" and out.special[0] and out.special[-1]
    assert out.words == ["the", "cats", "sat", "on", "the", "mat"]
    pieces = {t: s for t, s in zip(out.tokens, out.scores, strict=True)}
    # "cats" is "cat" + "##s": its word score is the sum of both pieces
    assert out.word_scores[1] == pytest.approx(pieces["cat"] + pieces["##s"], abs=1e-6)
    assert out.target == 1 and out.to_json()["method"] == name


def test_integrated_gradients_completeness(tiny_loaded):  # noqa: F811
    ig = get_explainer("integrated_gradients", tiny_loaded, steps=8)
    ex = Example("a very good film , really great fun")
    out = ig.explain(ex, target=0)[0]
    enc = encode(tiny_loaded.tokenizer, [ex], "cpu")
    rest = {k: v for k, v in enc.items() if k != "input_ids"}
    with torch.no_grad():
        p_base = float(_target_prob(tiny_loaded.model, ig.baseline(enc), rest, 0))
    gap = out.probabilities[0] - p_base
    assert sum(out.scores) == pytest.approx(gap, rel=1e-3, abs=1e-7)


def test_lrp_functional_forward_matches_model(tiny_loaded):  # noqa: F811
    lrp = get_explainer("lrp", tiny_loaded)
    enc = encode(tiny_loaded.tokenizer, [Example("the plot was dull")], "cpu")
    logits, records, _ = lrp.forward_record(enc)
    with torch.no_grad():
        ref = tiny_loaded.model(**enc).logits[0]
    assert torch.allclose(logits, ref, atol=1e-5) and len(records) == 2


def test_explainers_find_the_token_the_model_reads(good_detector):  # noqa: F811
    """The model's output depends on 'good' alone; every gradient/attention-flow explainer
    must rank it first among the non-special tokens on positive examples."""
    exs = [Example(t, label=y) for t, y in good_sentences(40, seed=7) if y == 1][:8]
    for name in ["rollout", "grad_attention", "lrp", "integrated_gradients"]:
        for out in get_explainer(name, good_detector).explain(exs):
            body = [i for i, s in enumerate(out.special) if not s]
            assert out.tokens[max(body, key=lambda i: out.scores[i])] == "good", name


def test_attattr_token_scores_sum_the_edges(tiny_loaded):  # noqa: F811
    from attribution.attention_attribution import AttentionAttribution

    ex = Example("a very good film")
    out = get_explainer("attattr", tiny_loaded, steps=4).explain(ex, target=1)[0]
    (res,) = AttentionAttribution(tiny_loaded).attribute([ex], target=[1], steps=4)
    assert torch.allclose(torch.tensor(out.scores), res.scores.sum(dim=(0, 1, 2)), atol=1e-6)
    # completeness per layer carries over: scores sum to sum_l (F(A^l) - F(0)) up to the gap
    assert len(out.scores) == res.scores.shape[-1]
