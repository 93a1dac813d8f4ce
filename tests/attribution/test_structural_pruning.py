"""Structural pruning: removing heads from the weights equals masking them."""

from __future__ import annotations

import pytest
import torch
import transformers
from transformers import AutoConfig, AutoModelForSequenceClassification

from attribution.data import Example, encode
from attribution.errors import AttributionInputError
from attribution.head_masking import MaskedEvaluator
from attribution.structural_pruning import StructuralPruner, load_pruned
from tests.attribution.heads_fixtures import tiny_loaded  # noqa: F401

TF5 = int(transformers.__version__.split(".")[0]) >= 5

EXAMPLES = [Example("the movie was very good"), Example("a boring plot , bad acting and no fun")]


@pytest.mark.parametrize("removed", [[(0, 1), (1, 0), (1, 3)], [(0, 0), (0, 1), (0, 2), (0, 3), (1, 2)]])
def test_removed_heads_equal_masked_heads(tiny_loaded, tmp_path, removed):  # noqa: F811
    mask = torch.ones(2, 4)
    for layer, head in removed:
        mask[layer, head] = 0
    res = StructuralPruner(tiny_loaded).prune(mask, output_dir=tmp_path / "pruned",
                                              check_examples=EXAMPLES)
    masked = MaskedEvaluator(tiny_loaded).logits(EXAMPLES, mask)[0]
    enc = encode(tiny_loaded.tokenizer, EXAMPLES, "cpu")
    # plain transformers 4.x (reads config.pruned_heads) and our version-independent loader
    # transformers 5 no longer reads config.pruned_heads: the plain load is compared on 4.x
    models = [load_pruned(tmp_path / "pruned")]
    if not TF5:
        models.append(AutoModelForSequenceClassification.from_pretrained(tmp_path / "pruned").eval())
    with torch.no_grad():
        for model in models:
            assert torch.allclose(model(**enc).logits, masked, atol=1e-5)
    assert res.max_abs_logit_diff < 1e-5
    # each removed head (d = 4, hidden 16) drops 3 * (16*4 + 4) + 16*4 = 268 parameters
    # (a fully masked layer keeps one head with a zero value projection)
    n_zeroed = sum(len(v) for v in res.heads_zeroed.values())
    assert n_zeroed == (1 if len(removed) == 5 else 0)
    assert res.params_before - res.params_after == 268 * (len(removed) - n_zeroed)
    assert res.bytes_after < res.bytes_before
    saved = AutoConfig.from_pretrained(tmp_path / "pruned")
    assert {int(k): sorted(v) for k, v in saved.pruned_heads.items()} == res.heads_removed


def test_bad_mask_and_atomic_output(tiny_loaded, tmp_path):  # noqa: F811
    with pytest.raises(AttributionInputError):
        StructuralPruner(tiny_loaded).prune(torch.ones(3, 4), output_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()
