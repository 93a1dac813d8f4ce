"""AttAttr on DeBERTa-v2/v3 and ModernBERT: completeness, Captum agreement, the layer tail
against the model's own full forward, padding invariance, sentence pairs."""

from __future__ import annotations

import pytest
import torch

from attribution.data import Example, encode
from attribution.intervention import AttentionIntervention
from tests.attribution.conftest import MODERN_MODELS

NAMES = tuple(MODERN_MODELS)
EXAMPLES = [
    Example("the movie was good", label=1),
    Example("a cat sat on the mat , really nice fun", "ok it was fine", label=0),
    Example("bad", label=0),
    Example("i love this film it is great fun and the cast was brilliant", label=1),
]


def _rel_gaps(results):
    return [abs(g) / abs(d) for r in results
            for g, d in zip(r.completeness_gap, r.path_delta, strict=True)]


@pytest.mark.parametrize("name", NAMES)
def test_completeness_with_defaults(modern_engines, name):
    engine = modern_engines[name]
    assert engine.token0_family is None  # full path, see top_layer.token0_head
    results = engine.attribute(EXAMPLES)
    for r in results:
        assert r.scores.shape == (engine.num_layers, engine.num_heads, len(r.tokens), len(r.tokens))
        assert min(abs(d) for d in r.path_delta) > 1e-4
    assert max(_rel_gaps(results)) < 1e-3


@pytest.mark.parametrize("name", NAMES)
def test_agrees_with_captum_integrated_gradients(modern_engines, name):
    from captum.attr import IntegratedGradients

    engine = modern_engines[name]
    ex = EXAMPLES[1]  # a sentence pair
    steps = 6
    result = engine.attribute(ex, steps=steps)[0]
    for layer in range(engine.num_layers):
        attn, fn = engine.path_function(ex, layer)
        ig = IntegratedGradients(fn).attribute(
            attn[None], baselines=torch.zeros_like(attn[None]), method="gausslegendre",
            n_steps=steps)[0]
        ours = result.scores[layer]
        assert ours.abs().max() > 1e-5
        assert (ours - ig).abs().max() <= 1e-5 * ig.abs().max()


@pytest.mark.parametrize("name", NAMES)
def test_layer_tail_equals_the_models_full_forward(modern_engines, modern_loaded, name):
    """F(alpha A) through the cached layer tail == the whole model run with layer l scaled by
    alpha at the intervention point (embeddings, DeBERTa's conv, ModernBERT's final norm and
    pooling all by the model's own forward)."""
    engine, lc = modern_engines[name], modern_loaded[name]
    iv = AttentionIntervention(lc.model)
    for ex in (EXAMPLES[1], EXAMPLES[3]):
        enc = encode(lc.tokenizer, [ex], lc.device)
        for layer in range(engine.num_layers):
            for c in range(2):
                attn, fn = engine.path_function(ex, layer, target=c, output="logit")
                alphas = torch.tensor([0.0, 0.4, 1.0])
                with torch.no_grad():
                    ours = fn(alphas.view(-1, 1, 1, 1) * attn[None])
                for k, a in enumerate(alphas):
                    with torch.no_grad(), iv.scale(layer, a.view(1)):
                        ref = lc.model(**enc).logits[0, c]
                    torch.testing.assert_close(ours[k], ref, rtol=0, atol=2e-5)


@pytest.mark.parametrize("name", NAMES)
def test_padding_and_batch_change_nothing(modern_engines, name):
    engine = modern_engines[name]
    padded = engine.attribute([EXAMPLES[0], EXAMPLES[3]])[0]
    alone = engine.attribute(EXAMPLES[0])[0]
    assert padded.tokens == alone.tokens
    assert (padded.scores - alone.scores).abs().max() <= 1e-6 * alone.scores.abs().max()
    assert padded.probabilities == pytest.approx(alone.probabilities, abs=1e-6)
