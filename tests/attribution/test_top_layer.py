"""The token-0 top layer: identical attributions to the full computation, for every arch."""

from __future__ import annotations

import copy

import pytest
import torch

from attribution.data import Example
from attribution.top_layer import token0_head
from tests.tiny_models import ARCHS

EXAMPLES = [Example("the movie was good"), Example("a cat sat on the mat , really nice", "ok"),
            Example("bad")]


@pytest.mark.parametrize("arch", ARCHS)
def test_token0_path_matches_full_computation(engines, arch):
    engine = engines[arch]
    assert engine.token0_family is not None  # every supported head is a known token-0 head
    full_engine = copy.copy(engine)
    full_engine.token0_family = None  # the model's own forward through every row
    fast = engine.attribute(EXAMPLES, steps=4)
    full = full_engine.attribute(EXAMPLES, steps=4)
    last = engine.num_layers - 1
    for f, r in zip(fast, full, strict=True):
        scale = r.scores.abs().max()
        assert scale > 1e-4
        assert (f.scores - r.scores).abs().max() <= 1e-5 * scale
        assert f.path_delta == pytest.approx(r.path_delta, abs=1e-6)
        # Query rows != 0 of the last layer never reach a token-0 head: exactly zero there.
        assert f.scores[last, :, 1:].abs().max() == 0
        assert r.scores[last, :, 1:].abs().max() <= 1e-6 * scale
        assert f.scores[last, :, 0].abs().max() > 0


def test_token0_path_honours_head_masks(engines):
    engine = engines["bert"]
    full_engine = copy.copy(engine)
    full_engine.token0_family = None
    mask = torch.ones(engine.num_layers, engine.num_heads)
    mask[-1, 0] = 0  # a head of the last layer: handled by the token-0 code
    mask[0, 1] = 0
    with engine.intervention.head_mask(mask):
        fast = engine.attribute(EXAMPLES[:2], steps=4)
        full = full_engine.attribute(EXAMPLES[:2], steps=4)
    for f, r in zip(fast, full, strict=True):
        assert (f.scores - r.scores).abs().max() <= 1e-5 * r.scores.abs().max()
        assert f.probabilities == pytest.approx(r.probabilities, abs=1e-6)


def test_unknown_heads_fall_back_to_the_full_computation(loaded):
    model = loaded["bert"].model
    other = copy.copy(model)
    other.config = copy.deepcopy(model.config)
    other.config.position_embedding_type = "relative_key"
    assert token0_head(other) is None
    assert token0_head(model.bert) is None  # not a sequence classifier head
