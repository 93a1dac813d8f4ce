"""Stage explainers: token scores from every registered explainer, scored for faithfulness.

Explainers come from ``attribution.explainers`` (raw attention, rollout of Abnar and Zuidema
2020, gradient-weighted attention and LRP relevance of Chefer et al. 2021, integrated gradients,
gradient x input, AttAttr token scores); faithfulness from ``attribution.faithfulness``
(ERASER comprehensiveness/sufficiency with AOPC, DeYoung et al. 2020; Kendall tau against
leave-one-out and between attention and gradients, Jain and Wallace 2019). The sample is the
first ``config.examples`` of the evaluation slice, the same the attribution stage shows; each AOPC
comes with a 95% Student-t interval over those examples (the report warns when they are few).
With the default (every explainer), one that does not apply to the model's architecture (LRP's
rules are written for the BERT family only: not DistilBERT, DeBERTa, ModernBERT) is left out
and listed under ``not_applicable`` with its reason; one asked for by name still fails loudly.
"""

from __future__ import annotations

import math

from pipeline.context import StageContext
from pipeline.intervals import mean_interval

REQUIRES = ["attribution.explainers:get_explainer", "attribution.faithfulness:FaithfulnessEvaluator"]


def _f(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(f"{float(x):.6g}")


def _ci(values: list[float]) -> list[float | None] | None:
    """95% Student-t interval of a mean over the examples (None for fewer than two)."""
    ci = mean_interval(values)
    return None if ci is None else [_f(v) for v in ci]


def _tau(t) -> dict | None:
    """A TauSummary for the report: statistics over the n examples where tau is defined, and the
    count of the others with the reason (``note``, '' when tau is defined everywhere)."""
    return None if t is None else {"mean": _f(t.mean), "std": _f(t.std),
                                   "fraction_significant": _f(t.frac_significant), "n": t.n,
                                   "n_total": t.n_total, "undefined": dict(t.undefined), "note": t.note}


def _usable(names: list[str]) -> list[str]:
    """Registered explainers whose module imports in this build."""
    from attribution.explainers import explainer_available

    return [name for name in names if explainer_available(name)]


def run(ctx: StageContext) -> dict:
    from attribution.errors import ModelLoadError
    from attribution.explainers import EXPLAINERS, get_explainer
    from attribution.faithfulness import FaithfulnessEvaluator

    cfg = ctx.config
    # names were checked against common.registries when the config was built
    names = list(cfg.explainers) if cfg.explainers else _usable(list(EXPLAINERS))
    sample = ctx.slice("eval", cfg.examples)
    built, not_applicable = {}, {}
    for name in names:
        try:
            built[name] = get_explainer(name, ctx.loaded)
        except ModelLoadError as exc:
            if cfg.explainers:  # asked for by name: the user hears why it cannot run
                raise
            not_applicable[name] = str(exc)
    names = list(built)
    explanations = {}
    for i, name in enumerate(names):
        part = ctx.sub_progress(0.6 * i / len(names), 0.6 * (i + 1) / len(names))
        explanations[name] = built[name].explain(sample, progress=part)
    report = FaithfulnessEvaluator(ctx.loaded).evaluate(sample, explanations,
                                                        progress=ctx.sub_progress(0.6, 1.0))
    rows = [{"explainer": m.method, "aopc_comprehensiveness": _f(m.aopc_comprehensiveness),
             "aopc_sufficiency": _f(m.aopc_sufficiency),
             "aopc_comprehensiveness_ci95": _ci(m.aopc_comprehensiveness_per_example),
             "aopc_sufficiency_ci95": _ci(m.aopc_sufficiency_per_example),
             "comprehensiveness_bins": [_f(v) for v in m.comprehensiveness],
             "sufficiency_bins": [_f(v) for v in m.sufficiency],
             "kendall_loo": _f(m.tau_loo.mean) if m.tau_loo else None,
             "kendall_loo_significant": _f(m.tau_loo.frac_significant) if m.tau_loo else None,
             "kendall_loo_detail": _tau(m.tau_loo)}
            for m in report.methods]
    examples = []
    for idx, ex in enumerate(sample):
        first = explanations[names[0]][idx]
        examples.append({"text": ex.text, "pair": ex.pair, "tokens": list(first.tokens),
                         "prediction": first.prediction,
                         "scores": {n: [_f(s) for s in explanations[n][idx].scores] for n in names}})
    return {"explainers": names, "bins": list(report.bins), "removal": f"the {report.removal_token} token",
            "ranking": list(report.ranking), "faithfulness": rows,
            "pairwise_tau": {k: _tau(v) for k, v in report.pairwise_tau.items()},
            "n_examples": report.num_examples, "examples": examples,
            "not_applicable": not_applicable}
