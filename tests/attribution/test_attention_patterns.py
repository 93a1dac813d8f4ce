"""Clark et al. 2019 per-head statistics: hand-computed values and a real model run."""

from __future__ import annotations

import math

import pytest
import torch

from attribution.attention_patterns import AttentionPatterns, is_punct, pattern_sums
from attribution.data import Example
from tests.attribution.heads_fixtures import tiny_loaded  # noqa: F401

A = torch.tensor([[0.5, 0.25, 0.25], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6]])  # (T, T)


def test_hand_computed_statistics():
    sums, counts = pattern_sums(A[None, None], ["[CLS]", ".", "[SEP]"], cls_token="[CLS]", sep_token="[SEP]")
    mean = {k: float(sums[k][0, 0]) / counts[k] for k in sums}
    assert mean["cls"] == pytest.approx((0.5 + 0.1 + 0.2) / 3)
    assert mean["sep"] == pytest.approx((0.25 + 0.3 + 0.6) / 3)
    assert mean["punct"] == pytest.approx((0.25 + 0.6 + 0.2) / 3)
    assert mean["self"] == pytest.approx((0.5 + 0.6 + 0.6) / 3)
    assert mean["next"] == pytest.approx((0.25 + 0.3) / 2)
    assert mean["prev"] == pytest.approx((0.1 + 0.2) / 2)
    ent = [-sum(p * math.log(p) for p in row) for row in A.tolist()]
    assert mean["entropy"] == pytest.approx(sum(ent) / 3)


def test_punctuation_detection():
    assert is_punct(".") and is_punct("##,") and is_punct("Ġ!") and not is_punct("a.") and not is_punct("")


def test_model_statistics_are_consistent(tiny_loaded):  # noqa: F811
    exs = [Example("the movie , the plot !"), Example("a dog sat on the mat .")]
    hp = AttentionPatterns(tiny_loaded).compute(exs)
    s = hp.stats
    assert s["cls"].shape == (2, 4) and hp.num_tokens == 8 + 9
    # disjoint token classes: their shares sum to at most 1; entropy within [0, log T_max]
    assert (s["cls"] + s["sep"] + s["punct"] <= 1 + 1e-6).all()
    assert (s["entropy"] >= 0).all() and (s["entropy"] <= math.log(9) + 1e-6).all()
    assert hp.to_json()["stats"]["self"][0][0] == pytest.approx(float(s["self"][0, 0]), abs=1e-6)
