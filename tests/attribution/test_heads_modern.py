"""Heads on DeBERTa-v2/v3 and ModernBERT: importance and pruning curves through masking (no
``head_mask``), structural pruning equal to masking, every explainer works or says why not,
attention-pattern statistics with SentencePiece / BPE tokens."""

from __future__ import annotations

import pytest
import torch

from attribution.data import Example, encode
from attribution.errors import ModelLoadError
from attribution.explainers import EXPLAINERS, get_explainer
from attribution.head_masking import MaskedEvaluator
from attribution.structural_pruning import StructuralPruner, load_pruned
from tests.attribution.conftest import MODERN_MODELS

NAMES = tuple(MODERN_MODELS)
EXAMPLES = [Example("the movie was good", label=1), Example("a dull plot , bad acting", label=0),
            Example("i love this film", label=1), Example("boring and awful", label=0)]


@pytest.mark.parametrize("name", NAMES)
def test_masked_evaluator_rows_equal_single_masks(modern_loaded, name):
    lc = modern_loaded[name]
    ev = MaskedEvaluator(lc)
    masks = torch.ones(3, lc.num_layers, lc.num_heads)
    masks[1, 0, 0] = 0
    masks[2, -1] = 0
    many = ev.logits(EXAMPLES, masks)  # one forward, a mask per row group
    for i in range(3):
        with ev.intervention.head_mask(masks[i]), torch.no_grad():
            ref = lc.model(**encode(lc.tokenizer, EXAMPLES, lc.device)).logits
        torch.testing.assert_close(many[i], ref, rtol=0, atol=2e-6)
    assert not torch.allclose(many[0], many[2])


@pytest.mark.parametrize("name", ["deberta-v3", "modernbert"])
def test_importance_and_pruning_curves(modern_loaded, name):
    from attribution.head_importance import HeadImportance
    from attribution.pruning import PruningRobustness

    lc = modern_loaded[name]
    imp = HeadImportance(lc).compute(EXAMPLES, attattr_steps=4)
    for ordering, scores in imp.scores.items():
        assert scores.shape == (lc.num_layers, lc.num_heads) and torch.isfinite(scores).all(), ordering
    report = PruningRobustness(lc).curves(imp.scores, EXAMPLES)
    acc = MaskedEvaluator(lc).accuracy(EXAMPLES, torch.ones(1, lc.num_layers, lc.num_heads))
    assert report.full_accuracy == pytest.approx(float(acc[0]))
    curve = report.curve("attattr", "global", "most")
    assert curve.accuracy[0] == report.full_accuracy and len(curve.accuracy) == 11


@pytest.mark.parametrize("name", NAMES)
def test_structural_pruning_equals_masking(modern_loaded, name, tmp_path):
    lc = modern_loaded[name]
    mask = torch.ones(lc.num_layers, lc.num_heads)
    mask[0, 1] = 0
    mask[-1, :] = 0  # a fully masked layer keeps one zeroed head
    res = StructuralPruner(lc).prune(mask, output_dir=tmp_path / name, check_examples=EXAMPLES)
    assert res.max_abs_logit_diff < 1e-5 and res.params_after < res.params_before
    masked = MaskedEvaluator(lc).logits(EXAMPLES, mask)[0]
    enc = encode(lc.tokenizer, EXAMPLES, "cpu")
    with torch.no_grad():
        reloaded = load_pruned(tmp_path / name)(**enc).logits
    torch.testing.assert_close(reloaded, masked, rtol=0, atol=1e-5)
    assert (masked - MaskedEvaluator(lc).logits(EXAMPLES, torch.ones_like(mask)[None])[0]).abs().max() > 1e-4


@pytest.mark.parametrize("name", ["deberta-v3", "modernbert"])
def test_explainers_work_or_say_why(modern_loaded, name):
    lc = modern_loaded[name]
    for exp in EXPLAINERS:
        if exp == "lrp":
            with pytest.raises(ModelLoadError, match="LRP.*BERT family"):
                get_explainer(exp, lc)
            continue
        out = get_explainer(exp, lc).explain(EXAMPLES[1])[0]
        assert len(out.scores) == len(out.tokens) and all(s == s for s in out.scores), exp


@pytest.mark.parametrize("name", ["deberta-v3", "modernbert"])
def test_attention_pattern_statistics(modern_loaded, name):
    from attribution.attention_patterns import AttentionPatterns, is_punct

    lc = modern_loaded[name]
    toks = lc.tokenizer.tokenize("good , fun !")
    assert any(is_punct(t) for t in toks)  # ▁, / Ġ, count as punctuation
    stats = AttentionPatterns(lc).compute(EXAMPLES)
    cls = stats.stats["cls"]
    assert cls.shape == (lc.num_layers, lc.num_heads) and torch.all((cls >= 0) & (cls <= 1))
