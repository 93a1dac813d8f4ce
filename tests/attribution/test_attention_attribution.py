"""AttAttr: completeness, agreement with Captum, invariances, options."""

from __future__ import annotations

import math

import pytest
import torch

from attribution.data import Example
from attribution.errors import AttributionInputError
from tests.tiny_models import ARCHS

EXAMPLES = [
    Example("the movie was good", label=1),
    Example("a cat sat on the mat , really nice fun", "ok", label=0),
    Example("bad", label=0),
    Example("i love this film it is great fun", label=1),
]
SMOOTH = [a for a in ARCHS if a != "distilbert"]


def _rel_gaps(results):
    return [
        abs(g) / abs(d)
        for r in results
        for g, d in zip(r.completeness_gap, r.path_delta, strict=True)
    ]


@pytest.mark.parametrize("arch", SMOOTH)
def test_completeness_with_defaults(engines, arch):
    results = engines[arch].attribute(EXAMPLES)
    for r in results:
        assert r.method == "gausslegendre" and set(r.nodes) <= {5, 10} and r.steps == max(r.nodes)
        assert r.scores.shape == (2, 2, len(r.tokens), len(r.tokens))
        assert r.scores.dtype == torch.float32 and r.scores.device.type == "cpu"
        assert min(abs(d) for d in r.path_delta) > 1e-4  # the integral is not trivially zero
    assert max(_rel_gaps(results)) < 1e-3


def test_completeness_distilbert_relu_head(engines):
    """DistilBERT's head has a ReLU, so dF(alpha A)/d alpha jumps where a unit switches and
    quadrature error falls only like 1/m: the gap still shrinks steadily with more nodes."""
    engine = engines["distilbert"]
    coarse = max(_rel_gaps(engine.attribute(EXAMPLES)))
    fine = max(_rel_gaps(engine.attribute(EXAMPLES, steps=64)))
    assert fine < coarse / 4 and fine < 1e-2


@pytest.mark.parametrize(
    ("method", "captum_method"),
    [("gausslegendre", "gausslegendre"), ("riemann-right", "riemann_right"),
     ("riemann-left", "riemann_left")],
)
def test_agrees_with_captum_integrated_gradients(engines, method, captum_method):
    from captum.attr import IntegratedGradients

    engine = engines["bert"]
    ex = EXAMPLES[1]
    steps = 6
    result = engine.attribute(ex, method=method, steps=steps)[0]
    for layer in range(engine.num_layers):
        attn, fn = engine.path_function(ex, layer)
        ig = IntegratedGradients(fn).attribute(
            attn[None], baselines=torch.zeros_like(attn[None]), method=captum_method,
            n_steps=steps,
        )[0]
        ours = result.scores[layer]
        assert ours.abs().max() > 1e-4
        assert (ours - ig).abs().max() <= 1e-5 * ig.abs().max()


def test_chunk_size_and_batch_composition_change_nothing(engines):
    engine = engines["roberta"]
    full = engine.attribute(EXAMPLES)
    one_row = engine.attribute(EXAMPLES, memory_budget_mb=1e-9)  # one (example, alpha) per chunk
    alone = [engine.attribute(ex)[0] for ex in EXAMPLES]
    reordered = engine.attribute(EXAMPLES[::-1])[::-1]
    for ref, *others in zip(full, one_row, alone, reordered, strict=True):
        scale = ref.scores.abs().max()
        for other in others:
            assert other.tokens == ref.tokens and other.target == ref.target
            assert (other.scores - ref.scores).abs().max() <= 1e-6 * scale


@pytest.mark.parametrize("arch", ARCHS)
def test_alpha_one_reproduces_logits_and_padding_invariance(engines, loaded, arch):
    engine = engines[arch]
    lc = loaded[arch]
    from attribution.data import encode

    enc = encode(lc.tokenizer, [EXAMPLES[0]], lc.device)
    with torch.no_grad():
        plain = lc.model(**enc).logits[0]
        for layer in range(engine.num_layers):
            for c in range(2):
                attn, fn = engine.path_function(EXAMPLES[0], layer, target=c, output="logit")
                torch.testing.assert_close(fn(attn[None])[0], plain[c], rtol=0, atol=1e-5)
    # EXAMPLES[0] padded next to a longer sentence vs alone.
    padded = engine.attribute([EXAMPLES[0], EXAMPLES[3]])[0]
    alone = engine.attribute(EXAMPLES[0])[0]
    assert len(padded.tokens) == enc["input_ids"].shape[1]
    assert (padded.scores - alone.scores).abs().max() <= 1e-6 * alone.scores.abs().max()
    assert padded.probabilities == pytest.approx(alone.probabilities, abs=1e-6)


def test_targets_and_logit_output(tiny3_dir):
    from attribution.attention_attribution import AttentionAttribution
    from attribution.model_loading import load_classifier

    engine = AttentionAttribution(load_classifier(tiny3_dir))
    exs = [Example("good fun", label=2), Example("bad plot", label=0)]
    pred = engine.attribute(exs)
    assert [r.target for r in pred] == [r.prediction for r in pred]
    assert [r.target for r in engine.attribute(exs, target="gold")] == [2, 0]
    assert [r.target for r in engine.attribute(exs, target=1)] == [1, 1]
    assert [r.target for r in engine.attribute(exs, target="positive")] == [2, 2]
    assert [r.target for r in engine.attribute(exs, target=[0, 2])] == [0, 2]
    logit = engine.attribute(exs, target=1, output="logit")
    for r in logit:
        assert r.output == "logit"
        assert max(abs(g) for g in r.completeness_gap) < 1e-3 * min(abs(d) for d in r.path_delta)
    with pytest.raises(AttributionInputError, match="has no label"):
        engine.attribute([Example("x")], target="gold")
    with pytest.raises(AttributionInputError, match="out of range"):
        engine.attribute(exs, target=3)
    with pytest.raises(AttributionInputError, match="unknown target 'maybe'"):
        engine.attribute(exs, target="maybe")


def test_layers_subset_and_progress(engines):
    engine = engines["electra"]
    seen: list[float] = []
    full = engine.attribute(EXAMPLES[:2])
    part = engine.attribute(EXAMPLES[:2], layers=[1], progress=seen.append)
    for f, p in zip(full, part, strict=True):
        assert p.layers == [1] and math.isnan(p.completeness_gap[0])
        assert torch.all(p.scores[0] == 0)
        assert (p.scores[1] - f.scores[1]).abs().max() <= 1e-6 * f.scores[1].abs().max()
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 2
    js = part[0].to_json()
    assert js["completeness_gap"][0] is None and len(js["scores"]) == 2


def test_riemann_sums_converge_towards_gauss_legendre(engines):
    engine = engines["bert"]
    ex = EXAMPLES[3]
    gl = engine.attribute(ex, steps=32)[0].scores
    errs = {}
    for method in ("riemann-right", "riemann-left"):
        for steps in (10, 40):
            s = engine.attribute(ex, method=method, steps=steps)[0].scores
            errs[method, steps] = float((s - gl).abs().max())
    for method in ("riemann-right", "riemann-left"):
        assert errs[method, 40] < errs[method, 10] / 2  # first-order convergence


def test_bad_options(engines):
    engine = engines["bert"]
    with pytest.raises(AttributionInputError, match="unknown method 'simpson'.*gausslegendre"):
        engine.attribute(EXAMPLES[0], method="simpson")
    with pytest.raises(AttributionInputError, match="steps"):
        engine.attribute(EXAMPLES[0], steps=0)
    with pytest.raises(AttributionInputError, match="unknown output"):
        engine.attribute(EXAMPLES[0], output="loss")
    with pytest.raises(AttributionInputError, match="layers"):
        engine.attribute(EXAMPLES[0], layers=[2])
    with pytest.raises(AttributionInputError, match="empty text"):
        engine.attribute(Example("   "))
    with pytest.raises(AttributionInputError, match="no examples"):
        engine.attribute([])


@pytest.mark.parametrize("arch", SMOOTH)
def test_adaptive_nodes_refine_only_above_tolerance(engines, arch):
    """The default ladder: every (example, layer) ends within the gap tolerance or on the last
    rung, and its scores are exactly those of the fixed rule with the nodes it used."""
    from attribution.node_control import DEFAULT_LADDER, DEFAULT_TOLERANCE, GAP_FLOOR

    engine = engines[arch]
    adaptive = engine.attribute(EXAMPLES)
    fixed = {m: engine.attribute(EXAMPLES, steps=m) for m in DEFAULT_LADDER}
    for i, r in enumerate(adaptive):
        assert r.gap_tolerance == DEFAULT_TOLERANCE
        for layer, m in enumerate(r.nodes):
            first = fixed[DEFAULT_LADDER[0]][i]
            first_ok = abs(first.completeness_gap[layer]) <= DEFAULT_TOLERANCE * max(
                abs(first.path_delta[layer]), GAP_FLOOR)
            assert (m == DEFAULT_LADDER[0]) == first_ok  # refined exactly when the gap said so
            ref = fixed[m][i].scores[layer]
            assert (r.scores[layer] - ref).abs().max() <= 1e-6 * ref.abs().max()
            assert r.completeness_gap[layer] == pytest.approx(fixed[m][i].completeness_gap[layer],
                                                              abs=1e-7)
    assert max(_rel_gaps(adaptive)) < 1e-3


def test_adaptive_tolerance_controls_the_gap(engines):
    engine = engines["bert"]
    tight = engine.attribute(EXAMPLES, gap_tolerance=1e-9)  # every pair reaches the last rung
    loose = engine.attribute(EXAMPLES, gap_tolerance=10.0)  # nothing is refined
    assert all(set(r.nodes) == {10} for r in tight) and all(set(r.nodes) == {5} for r in loose)
    # never worse than the unrefined ladder; on this tiny model both can sit at float32 roundoff
    # (~5e-6 relative), where either may come out a hair larger
    assert max(_rel_gaps(tight)) <= max(max(_rel_gaps(loose)), 1e-5)
    one_row = engine.attribute(EXAMPLES, memory_budget_mb=1e-9)  # chunking changes nothing
    for a, b in zip(engine.attribute(EXAMPLES), one_row, strict=True):
        assert a.nodes == b.nodes
        assert (a.scores - b.scores).abs().max() <= 1e-6 * a.scores.abs().max()
    with pytest.raises(AttributionInputError, match="gap_tolerance"):
        engine.attribute(EXAMPLES, steps=8, gap_tolerance=1e-3)


def test_rows_over_budget_run_checkpointed_with_the_same_numbers(tiny3_dir, monkeypatch):
    """A row alone above the memory budget runs the layers above l under activation
    checkpointing (one layer's activations at a time): same scores as the plain tail."""
    import torch.utils.checkpoint as cp

    from attribution.attention_attribution import AttentionAttribution
    from attribution.model_loading import load_classifier

    engine = AttentionAttribution(load_classifier(tiny3_dir))
    plain = engine.attribute(EXAMPLES[:2], steps=4)
    calls = []
    original = cp.checkpoint
    monkeypatch.setattr(cp, "checkpoint", lambda *a, **k: calls.append(1) or original(*a, **k))
    tight = engine.attribute(EXAMPLES[:2], steps=4, memory_budget_mb=1e-3)
    assert calls  # the checkpointed path ran
    for a, b in zip(plain, tight, strict=True):
        assert (a.scores - b.scores).abs().max() <= 1e-6 * a.scores.abs().max()
