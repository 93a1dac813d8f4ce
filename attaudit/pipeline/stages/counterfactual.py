"""Stage counterfactual: "is attention explanation?", the intervention half, and the verdict.

Runs the science in ``attribution.counterfactual`` on the evaluation slice:

* the permutation test of Jain and Wallace 2019 (https://arxiv.org/abs/1902.10186), per layer
  (``counterfactual_examples`` examples, ``counterfactual_permutations`` permutations) and per
  head (the first ``counterfactual_head_examples`` of them);
* their adversarial attention search, maximum JSD with output TVD <= ``counterfactual_epsilon``
  (``counterfactual_adversarial_examples`` examples, ``counterfactual_steps`` optimiser steps);
* the uniform-attention baseline of Wiegreffe and Pinter 2019 (https://arxiv.org/abs/1908.04626)
  on up to ``eval_examples`` labelled examples per layer and all layers, per head on the
  ``counterfactual_head_examples``, accuracy drops with Newcombe's paired 95% interval;
* the per-model verdict (``attribution.counterfactual.verdict``), which also reads the Kendall
  tau of attention against gradient x input from the explainers stage when it ran (else it
  computes that tau on the same examples).
"""

from __future__ import annotations

import math
from typing import Any

from attaudit.pipeline.context import StageContext

REQUIRES = ["attribution.counterfactual.permutation:PermutationTest",
            "attribution.counterfactual.adversarial_attention:AdversarialAttention",
            "attribution.counterfactual.uniform_attention:UniformAttentionBaseline",
            "attribution.counterfactual.verdict:model_verdict"]


def finite(value: Any) -> Any:
    """The result with NaN/inf as None and floats to 6 significant digits (report.json is strict)."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def correlation(ctx: StageContext, sample: list) -> dict:
    """Kendall tau of attention vs gradient x input: from the explainers stage, else computed."""
    previous = ctx.previous("explainers") if "explainers" in ctx.config.stages else None
    if previous and (previous.get("pairwise_tau") or {}).get("attention~grad_input"):
        return {"attention~grad_input": previous["pairwise_tau"]["attention~grad_input"],
                "source": "explainers stage"}
    from attribution.explainers import get_explainer
    from attribution.faithfulness import tau_between

    tau = tau_between(get_explainer("attention", ctx.loaded).explain(sample),
                      get_explainer("grad_input", ctx.loaded).explain(sample))
    return {"attention~grad_input": {"mean": tau.mean, "std": tau.std,
                                     "fraction_significant": tau.frac_significant, "n": tau.n},
            "source": "computed on the counterfactual examples"}


def run(ctx: StageContext) -> dict:
    from attribution.counterfactual.adversarial_attention import AdversarialAttention
    from attribution.counterfactual.permutation import PermutationTest
    from attribution.counterfactual.uniform_attention import UniformAttentionBaseline
    from attribution.counterfactual.verdict import model_verdict

    cfg = ctx.config
    sample = ctx.slice("eval", cfg.counterfactual_examples)
    head_sample = sample[:cfg.counterfactual_head_examples]
    perm_engine = PermutationTest(ctx.loaded)
    perm = perm_engine.run(sample, permutations=cfg.counterfactual_permutations, per_head=False,
                           seed=cfg.seed, progress=ctx.sub_progress(0.0, 0.25)).to_json()
    heads = perm_engine.run(head_sample, permutations=cfg.counterfactual_permutations, seed=cfg.seed,
                            progress=ctx.sub_progress(0.25, 0.45)).to_json()
    for row, hrow in zip(perm["layers"], heads["layers"], strict=True):
        row["head_median_output_change"] = hrow["head_median_output_change"]
    perm["heads_n"] = heads["n"]
    adv = AdversarialAttention(ctx.loaded).run(
        sample[:cfg.counterfactual_adversarial_examples], epsilon=cfg.counterfactual_epsilon,
        steps=cfg.counterfactual_steps, seed=cfg.seed, progress=ctx.sub_progress(0.45, 0.8)).to_json()
    labelled = ctx.labelled("eval", cfg.eval_examples)
    uni_engine = UniformAttentionBaseline(ctx.loaded)
    uni = uni_engine.run(labelled, per_head=False, progress=ctx.sub_progress(0.8, 0.88)).to_json()
    uni_heads = uni_engine.run(labelled[:cfg.counterfactual_head_examples], per_head=True,
                               progress=ctx.sub_progress(0.88, 0.95)).to_json()
    uni["heads"], uni["heads_n"] = uni_heads["heads"], uni_heads["n"]
    corr = correlation(ctx, sample)
    ctx.progress(1.0)
    verdict = model_verdict(pairwise_tau={"attention~grad_input": corr["attention~grad_input"]},
                            permutation=perm, adversarial=adv, uniform=uni)
    return finite({"verdict": verdict, "permutation": perm, "adversarial": adv, "uniform": uni,
                   "correlation": corr, "num_layers": ctx.loaded.num_layers,
                   "num_heads": ctx.loaded.num_heads})
