"""Stage counterfactual: "is attention explanation?", the intervention half, and the verdict.

Runs ``attribution.counterfactual.suite.run_counterfactual`` on the evaluation slice: the
permutation test and the adversarial attention search of Jain and Wallace 2019
(https://arxiv.org/abs/1902.10186), the uniform-attention baseline of Wiegreffe and Pinter 2019
(https://arxiv.org/abs/1908.04626) with Newcombe's paired 95% intervals, and the per-model
verdict, which reads the attention~gradient Kendall tau of the explainers stage when that stage
is selected (else the suite computes it on the same examples). Sizes come from the
``counterfactual_*`` config fields; the uniform baseline uses the labelled evaluation slice
(capped at ``eval_examples``).
"""

from __future__ import annotations

from pipeline.context import StageContext

REQUIRES = ["attribution.counterfactual.suite:run_counterfactual"]


def run(ctx: StageContext) -> dict:
    from attribution.counterfactual.suite import run_counterfactual

    cfg = ctx.config
    previous = ctx.previous("explainers") if cfg.counterfactual_reads_explainers else None
    return run_counterfactual(
        ctx.loaded, ctx.slice("eval", cfg.counterfactual_examples), ctx.labelled("eval", cfg.eval_examples),
        permutations=cfg.counterfactual_permutations, head_examples=cfg.counterfactual_head_examples,
        adversarial_examples=cfg.counterfactual_adversarial_examples, epsilon=cfg.counterfactual_epsilon,
        steps=cfg.counterfactual_steps, seed=cfg.seed,
        pairwise_tau=(previous or {}).get("pairwise_tau"), progress=ctx.progress)
