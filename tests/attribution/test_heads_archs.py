"""Every explainer and structural pruning on every supported architecture (tiny models)."""

from __future__ import annotations

import pytest
import torch

from attribution.data import Example
from attribution.errors import ModelLoadError
from attribution.explainers import EXPLAINERS, get_explainer
from attribution.head_masking import MaskedEvaluator
from attribution.structural_pruning import StructuralPruner, load_pruned

ARCHS = ("bert", "roberta", "distilbert", "electra", "xlm-roberta")
EXAMPLES = [Example("the movie was good"), Example("a dull plot")]


@pytest.mark.parametrize("arch", ARCHS)
def test_explainers_run_on_every_architecture(loaded, arch):
    for name in EXPLAINERS:
        if name == "attattr":
            continue
        if name == "lrp" and arch == "distilbert":
            with pytest.raises(ModelLoadError, match="LRP"):
                get_explainer(name, loaded[arch])
            continue
        out = get_explainer(name, loaded[arch]).explain(EXAMPLES[0])[0]
        assert len(out.scores) == len(out.tokens) and all(s == s for s in out.scores), (arch, name)


@pytest.mark.parametrize("arch", ARCHS)
def test_structural_pruning_on_every_architecture(loaded, arch, tmp_path):
    lc = loaded[arch]
    mask = torch.ones(lc.num_layers, lc.num_heads)
    mask[0, 0] = 0
    mask[-1, 1:] = 0
    res = StructuralPruner(lc).prune(mask, output_dir=tmp_path / arch, check_examples=EXAMPLES)
    assert res.max_abs_logit_diff < 1e-5 and res.params_after < res.params_before
    from attribution.data import encode

    enc = encode(lc.tokenizer, EXAMPLES, "cpu")
    with torch.no_grad():
        logits = load_pruned(tmp_path / arch)(**enc).logits
    assert torch.allclose(logits, MaskedEvaluator(lc).logits(EXAMPLES, mask)[0], atol=1e-5)


@pytest.mark.parametrize("arch", ["bert", "roberta", "electra", "xlm-roberta"])
def test_lrp_functional_forward_matches_each_architecture(loaded, arch):
    from attribution.data import encode

    lrp = get_explainer("lrp", loaded[arch])
    enc = encode(loaded[arch].tokenizer, EXAMPLES[:1], "cpu")
    logits, _, _ = lrp.forward_record(enc)
    with torch.no_grad():
        assert torch.allclose(logits, loaded[arch].model(**enc).logits[0], atol=1e-5)
