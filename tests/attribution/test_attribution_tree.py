"""The attribution tree builder on a hand-built 3-layer example (Hao et al. section 4.3)."""

from __future__ import annotations

import pytest
import torch

from attribution.attribution_tree import AttributionTreeBuilder, normalise_layers
from attribution.errors import AttributionInputError

TOKENS = ["[CLS]", "a", "b", "[SEP]", "c"]


def three_layers() -> torch.Tensor:
    s = torch.zeros(3, 5, 5)  # (L, T, T)
    # layer 0 (bottom): max outside the [CLS] row is 1.0 (row 4)
    s[0, 3, 4], s[0, 2, 4], s[0, 0, 4], s[0, 4, 4], s[0, 1, 4] = 0.45, 0.41, 0.39, 1.0, -0.9
    # layer 1: raw values, max outside [CLS] row is 2.0 -> normalised by 2
    s[1, 0, 2], s[1, 0, 1], s[1, 1, 2], s[1, 1, 3], s[1, 2, 2], s[1, 0, 4] = 2.0, 0.4, 1.8, 1.2, 2.0, 0.6
    # layer 2 (top): the [CLS] row may exceed the normaliser
    s[2, 0, 0], s[2, 0, 1], s[2, 0, 2], s[2, 0, 3], s[2, 1, 1] = 3.0, 0.5, 0.1, 0.3, 1.0
    return s


def test_tree_matches_hand_built_example():
    tree = AttributionTreeBuilder(tau=0.4).build(three_layers(), tokens=TOKENS)
    edges = [(e.layer, e.parent, e.child, round(e.score, 6)) for e in tree.edges]
    # top layer: [CLS] -> a (0.5); layer 1: [CLS] -> b (1.0) and a -> [SEP] (0.6; a -> b at
    # 0.9 loses to [CLS] -> b at 1.0); layer 0: [SEP] -> c (0.45 beats b -> c at 0.41;
    # [CLS] -> c at 0.39 is below tau)
    assert edges == [(2, 0, 1, 0.5), (1, 0, 2, 1.0), (1, 1, 3, 0.6), (0, 3, 4, 0.45)]
    assert [(n.token_index, n.layer) for n in tree.nodes] == [(0, 3), (1, 2), (2, 1), (3, 1), (4, 0)]
    assert tree.to_json()["edges"][3]["child_token"] == "c"


def test_threshold_and_depth_generalise():
    s = three_layers()
    tree = AttributionTreeBuilder(tau=0.55).build(s, tokens=TOKENS)
    # tau 0.55 cuts the top edge (0.5), so 'a' never joins and a -> [SEP] cannot exist; the
    # root still reaches b in layer 1 (1.0); b -> c (0.41) is below tau
    assert [(e.layer, e.parent, e.child) for e in tree.edges] == [(1, 0, 2)]
    assert [n.token_index for n in tree.nodes] == [0, 2]
    deep = torch.cat([s, s, s])  # 9 layers: the reference code could only do 12 exactly
    tree9 = AttributionTreeBuilder(tau=0.4).build(deep, tokens=TOKENS)
    assert tree9.nodes[0].layer == 9 and tree9.edges[0].layer == 8


def test_normalisation_excludes_cls_row():
    norm = normalise_layers(three_layers())
    assert norm[1, 0, 2] == pytest.approx(1.0) and norm[2, 0, 0] == pytest.approx(3.0)


def test_bad_shapes_raise():
    with pytest.raises(AttributionInputError):
        AttributionTreeBuilder().build(torch.zeros(2, 3, 4), tokens=["a"] * 3)
    with pytest.raises(AttributionInputError):
        AttributionTreeBuilder().build(torch.zeros(2, 3, 3), tokens=["a"] * 4)
