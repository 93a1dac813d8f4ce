"""Stage heads: head importance per ordering, pruning curves, attention-pattern statistics.

Calls ``attribution.head_importance`` (AttAttr Eq. 6 of Hao et al. AAAI 2021, attention,
Taylor of Michel et al. 2019, accuracy difference, random) on the importance slice,
``attribution.pruning`` (global and per-layer schedules, least/most important first) on the
evaluation slice, and ``attribution.attention_patterns`` (Clark et al. 2019) on the importance
slice. The slices are disjoint unless the config allows overlap.
"""

from __future__ import annotations

from pipeline.context import StageContext

REQUIRES = [
    "attribution.head_importance:HeadImportance",
    "attribution.pruning:PruningRobustness",
    "attribution.attention_patterns:AttentionPatterns",
]


def extra_requirements(config) -> list[str]:
    """The attattr ordering needs the AttAttr engine."""
    return ["attribution.attention_attribution:AttentionAttribution"] if "attattr" in config.heads_orderings else []


def _rounded(matrix) -> list[list[float]]:
    return [[float(f"{float(x):.6g}") for x in row] for row in matrix]


def run(ctx: StageContext) -> dict:
    from attribution.attention_patterns import AttentionPatterns
    from attribution.head_importance import HeadImportance
    from attribution.pruning import PruningRobustness

    cfg = ctx.config
    imp_examples = ctx.labelled("importance", cfg.importance_examples)
    eval_examples = ctx.labelled("eval", min(cfg.eval_examples, cfg.pruning_examples))
    importance = HeadImportance(ctx.loaded).compute(
        imp_examples, by=cfg.heads_orderings, seed=cfg.seed, attattr_steps=cfg.steps,
        progress=ctx.sub_progress(0.0, 0.55))
    pruning = PruningRobustness(ctx.loaded).curves(
        importance.scores, eval_examples, progress=ctx.sub_progress(0.55, 0.9))
    patterns = AttentionPatterns(ctx.loaded).compute(imp_examples, progress=ctx.sub_progress(0.9, 1.0))
    orderings = {}
    for name in cfg.heads_orderings:
        curves = {}
        for schedule in ("global", "per_layer"):
            least = pruning.curve(name, schedule, "least")
            most = pruning.curve(name, schedule, "most")
            curves[schedule] = {"x": list(least.x), "heads_pruned": list(least.heads_pruned),
                                "least_first": list(least.accuracy), "most_first": list(most.accuracy)}
        orderings[name] = {"importance": _rounded(importance.scores[name]), "pruning": curves,
                           "note": importance.notes.get(name)}
    return {
        "orderings": orderings,
        "n_importance": len(imp_examples),
        "n_eval": len(eval_examples),
        "full_accuracy": pruning.full_accuracy,
        "attention_stats": {k: _rounded(v) for k, v in patterns.stats.items()},
        "attention_stats_examples": patterns.num_examples,
    }
