"""Head masking, head importance orderings and pruning curves on a tiny BERT."""

from __future__ import annotations

import pytest
import torch
import transformers

from attribution.data import Example, encode
from attribution.errors import AttributionInputError
from attribution.head_importance import HeadImportance
from attribution.head_masking import MaskedEvaluator
from attribution.pruning import PruningRobustness, global_masks, per_layer_masks
from tests.attribution.heads_fixtures import tiny_loaded  # noqa: F401

TF5 = int(transformers.__version__.split(".")[0]) >= 5

EXAMPLES = [
    Example("the movie was very good", label=1),
    Example("a boring plot and bad acting", label=0),
    Example("i love this film !", label=1),
    Example("the worst story , really dull", label=0),
    Example("great cast", label=1),
]


def test_schedules_are_exact():
    scores = torch.tensor([[0.3, 0.1, 0.2], [0.9, 0.0, 0.5]])
    g = global_masks(scores, [0.0, 0.5, 1.0], "least")
    assert g[1].tolist() == [[1, 0, 0], [1, 0, 1]]  # 3 lowest: 0.0, 0.1, 0.2
    assert g[0].sum() == 6 and g[2].sum() == 0
    m = global_masks(scores, [0.5], "most")
    assert m[0].tolist() == [[0, 1, 1], [0, 1, 0]]  # 3 highest: 0.9, 0.5, 0.3
    p = per_layer_masks(scores, "least")
    assert p.shape == (4, 2, 3)
    assert p[1].tolist() == [[1, 0, 1], [1, 0, 1]]
    assert p[2].tolist() == [[1, 0, 0], [1, 0, 0]]


@pytest.mark.skipif(TF5, reason="transformers 5 removed head_mask; compared on 4.x only")
def test_row_masks_equal_transformers_head_mask(tiny_loaded):  # noqa: F811
    """Our per-row masking equals transformers 4.x's own head_mask, mask by mask."""
    ev = MaskedEvaluator(tiny_loaded)
    masks = torch.ones(3, 2, 4)
    masks[1, 0, 1] = 0
    masks[2, 1] = torch.tensor([0.0, 1.0, 0.0, 0.0])
    ours = ev.logits(EXAMPLES, masks, max_rows=7)  # chunking splits configs over several passes
    enc = encode(tiny_loaded.tokenizer, EXAMPLES, "cpu")
    for i in range(3):
        with torch.no_grad():
            ref = tiny_loaded.model(**enc, head_mask=masks[i]).logits
        assert torch.allclose(ours[i], ref, atol=1e-5)
    assert not torch.allclose(ours[0], ours[1])


def test_batched_masks_equal_one_mask_at_a_time(tiny_loaded):  # noqa: F811
    """Many configurations per forward (any row / memory budget) give the accuracies and logits
    of evaluating each mask alone, one example at a time."""
    ev = MaskedEvaluator(tiny_loaded)
    gen = torch.Generator().manual_seed(0)
    masks = (torch.rand(9, 2, 4, generator=gen) > 0.4).float()
    mixed = EXAMPLES + [Example("good movie", "bad plot", label=1)]  # pairs are grouped apart
    batched = ev.logits(mixed, masks)
    tight = ev.logits(mixed, masks, memory_budget_mb=1e-6)  # one example x one mask per pass
    for i in range(masks.shape[0]):
        for j, ex in enumerate(mixed):
            alone = ev.logits([ex], masks[i], max_rows=1)[0, 0]
            assert torch.allclose(batched[i, j], alone, atol=1e-5)
            assert torch.allclose(tight[i, j], alone, atol=1e-5)
    acc = ev.accuracy(mixed, masks)
    one_by_one = torch.stack([ev.accuracy(mixed, m[None], max_rows=1)[0] for m in masks])
    assert torch.equal(acc, one_by_one)
    with pytest.raises(AttributionInputError, match="memory_budget_mb"):
        ev.logits(mixed, masks, memory_budget_mb=0)


def test_importance_orderings(tiny_loaded):  # noqa: F811
    hi = HeadImportance(tiny_loaded)
    res = hi.compute(EXAMPLES, by=["attention", "taylor", "accdiff", "random"], batch_size=2)
    assert set(res.scores) == {"attention", "taylor", "accdiff", "random"}
    for s in res.scores.values():
        assert s.shape == (2, 4)
    # taylor is layer-wise L2 normalised
    assert torch.allclose(res.scores["taylor"].norm(dim=1), torch.ones(2), atol=1e-5)
    # attention: the max weight of a head lies in (1/T, 1]
    assert (res.scores["attention"] > 0.1).all() and (res.scores["attention"] <= 1).all()
    # accdiff equals the accuracy drop measured independently with transformers' head_mask
    enc = encode(tiny_loaded.tokenizer, EXAMPLES, "cpu")
    gold = torch.tensor([e.label for e in EXAMPLES])
    with torch.no_grad():
        base = (tiny_loaded.model(**enc).logits.argmax(-1) == gold).float().mean()
        mask = torch.ones(2, 4)
        mask[1, 2] = 0
        acc = (tiny_loaded.model(**enc, head_mask=mask).logits.argmax(-1) == gold).float().mean()
    assert res.scores["accdiff"][1, 2] == pytest.approx(float(base - acc))
    # random is seeded
    again = hi.compute(EXAMPLES, by=["random"], seed=0)
    assert torch.equal(again.scores["random"], res.scores["random"])
    with pytest.raises(AttributionInputError, match="valid"):
        hi.compute(EXAMPLES, by=["nope"])


@pytest.mark.skipif(TF5, reason="transformers 5 removed head_mask; compared on 4.x only")
def test_taylor_equals_head_mask_gradient(tiny_loaded):  # noqa: F811
    """Michel et al.'s |dL/dxi| computed by transformers' differentiable head_mask, per example."""
    hi = HeadImportance(tiny_loaded)
    ours = hi.compute(EXAMPLES, by=["taylor"], batch_size=3).scores["taylor"]
    total = torch.zeros(2, 4)
    for ex in EXAMPLES:
        enc = encode(tiny_loaded.tokenizer, [ex], "cpu")
        mask = torch.ones(2, 4, requires_grad=True)
        out = tiny_loaded.model(**enc, head_mask=mask, labels=torch.tensor([ex.label]))
        (g,) = torch.autograd.grad(out.loss, mask)
        total += g.abs()
    total = total / len(EXAMPLES)
    assert torch.allclose(ours, total / total.norm(dim=1, keepdim=True), atol=1e-5)


def test_pruning_curves(tiny_loaded):  # noqa: F811
    scores = {"random": torch.rand(2, 4, generator=torch.Generator().manual_seed(1))}
    rep = PruningRobustness(tiny_loaded).curves(scores, EXAMPLES, max_rows=16)
    ev = MaskedEvaluator(tiny_loaded)
    for c in rep.curves:
        assert c.accuracy[0] == pytest.approx(rep.full_accuracy)
        masks = (global_masks(scores["random"], c.x, c.direction) if c.schedule == "global"
                 else per_layer_masks(scores["random"], c.direction))
        assert c.accuracy == pytest.approx(ev.accuracy(EXAMPLES, masks).tolist())
    g = rep.curve("random", "global", "least")
    assert g.heads_pruned == [0, 1, 2, 2, 3, 4, 5, 6, 6, 7, 8]
    assert rep.curve("random", "per_layer", "most").heads_pruned == [0, 2, 4, 6, 8]
    with pytest.raises(AttributionInputError):
        PruningRobustness(tiny_loaded).curves({"x": torch.zeros(3, 3)}, EXAMPLES)


def test_attattr_importance_is_eq6(tiny_loaded):  # noqa: F811
    """Eq. 6: mean over examples of each head's largest attribution score (gold target)."""
    from attribution.attention_attribution import AttentionAttribution

    got = HeadImportance(tiny_loaded).compute(EXAMPLES[:3], by=["attattr"], attattr_steps=4)
    results = AttentionAttribution(tiny_loaded).attribute(EXAMPLES[:3], target="gold", steps=4)
    by_hand = torch.zeros(2, 4)
    for r in results:
        for layer in range(2):
            for head in range(4):
                by_hand[layer, head] += float(r.scores[layer, head].max()) / 3
    assert torch.allclose(got.scores["attattr"], by_hand, atol=1e-6)
