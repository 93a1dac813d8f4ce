"""Derived views: head sums, top connections with word-piece merging, Eq. 6 head importance."""

from __future__ import annotations

import pytest
import torch

import attribution
from attribution.attribution_result import AttributionResult
from attribution.data import Example
from attribution.errors import AttributionInputError
from attribution.views import head_importance_attattr, head_summed, top_connections, word_ids


def _result(tokens, scores):
    L = scores.shape[0]
    return AttributionResult(tokens=tokens, prediction=0, probabilities=[1.0, 0.0], target=0,
                             scores=scores, completeness_gap=[0.0] * L, method="gausslegendre",
                             steps=8)


def test_head_summed_and_top_connections_by_hand():
    tokens = ["[CLS]", "un", "##real", "film", "[SEP]"]
    scores = torch.zeros(2, 2, 5, 5)
    scores[1, 0, 3, 1] = 0.5  # query "film" attends to "un"
    scores[1, 1, 3, 2] = 0.4  # ... and to "##real"
    scores[0, 1, 0, 4] = 0.7
    res = _result(tokens, scores)
    assert head_summed(res).shape == (2, 5, 5)
    assert head_summed(res)[1, 3, 1] == 0.5
    top = top_connections(res, k=2)
    assert [(c.layer, c.head, c.src, c.dst, c.score) for c in top] == [
        (0, None, 4, 0, pytest.approx(0.7)), (1, None, 1, 3, pytest.approx(0.5))]
    assert (top[1].src_token, top[1].dst_token, top[1].src_word, top[1].dst_word) == (
        "un", "film", 0, 1)
    head1 = top_connections(res, k=1, layer=1, head=1)[0]
    assert (head1.head, head1.src_token, head1.score) == (1, "##real", pytest.approx(0.4))
    merged = top_connections(res, k=1, layer=1, merge_wordpieces=True)[0]
    assert (merged.src_token, merged.dst_token, merged.src, merged.dst) == (
        "unreal", "film", 1, 3)
    assert merged.score == pytest.approx(0.9)  # both pieces of "unreal" summed
    with pytest.raises(AttributionInputError, match="layer 2 out of range"):
        top_connections(res, layer=2)


def test_word_ids_for_three_tokenizer_styles():
    assert word_ids(["[CLS]", "a", "##b", "c", "[SEP]", "d", "[SEP]"]) == [None, 0, 0, 1, None, 2, None]
    assert word_ids(["<s>", "t", "he", "Ġcat", "</s>", "</s>", "ok", "Ġgo", "</s>"]) == [
        None, 0, 0, 1, None, None, 2, 3, None]
    assert word_ids(["<s>", "▁the", "▁ca", "t", "</s>"]) == [None, 0, 1, 1, None]


def test_head_importance_is_mean_of_max_with_gold_target(engines):
    engine = engines["bert"]
    exs = [Example("good fun film", label=1), Example("bad plot", label=0)]
    imp = head_importance_attattr(engine, exs)
    results = engine.attribute(exs, target="gold")
    expected = torch.stack([r.scores.amax(dim=(-1, -2)) for r in results]).mean(0)
    assert imp.shape == (2, 2)
    torch.testing.assert_close(imp, expected)
    assert [r.target for r in results] == [1, 0]
    with pytest.raises(AttributionInputError, match="no label"):
        head_importance_attattr(engine, [Example("x")])


def test_public_api_exports():
    assert attribution.AttentionAttribution.__name__ == "AttentionAttribution"
    assert attribution.top_connections is top_connections
    with pytest.raises(AttributeError):
        attribution.nope  # noqa: B018
