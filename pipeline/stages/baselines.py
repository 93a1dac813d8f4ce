"""Stage baselines: TextAttack's own recipes next to the mined triggers, same examples.

Runs ``attacks.baselines.run_baseline`` for every configured recipe (deepwordbug, pruthi,
input-reduction, pwws where WordNet is installed) and the mined triggers as a TextAttack recipe
(``attacks.textattack_recipe.AttAttrTriggerRecipe``) through the same ``Attacker``, on the first
``config.baseline_examples`` labelled examples of the evaluation slice. Success rate = fraction
of attacked (correctly classified) examples whose prediction flipped, with its 95% Wilson interval.
"""

from __future__ import annotations

from pipeline.context import StageContext
from pipeline.intervals import wilson

REQUIRES = [
    "attacks.baselines:run_baseline",
    "attacks.baselines:run_attacker",
    "attacks.model_wrapper:DynamicPaddingModelWrapper",
    "attacks.textattack_recipe:AttAttrTriggerRecipe",
]


def _row(summary) -> dict:
    attacked = summary.succeeded + summary.failed
    return {"name": summary.recipe, "n": summary.num_examples,
            "attacked": attacked, "skipped": summary.skipped,
            "succeeded": summary.succeeded, "success_rate": summary.success_rate,
            "success_rate_ci95": wilson(summary.succeeded, attacked),
            "accuracy_under_attack": summary.accuracy_under_attack,
            "avg_queries": summary.avg_queries, "seconds": summary.seconds}


def run(ctx: StageContext) -> dict:
    from attacks.baselines import run_attacker, run_baseline
    from attacks.model_wrapper import DynamicPaddingModelWrapper
    from attacks.textattack_recipe import AttAttrTriggerRecipe
    from attacks.trigger_file import parse_triggers

    cfg = ctx.config
    examples = ctx.labelled("eval", cfg.baseline_examples)
    wrapper = DynamicPaddingModelWrapper(ctx.loaded.model, ctx.loaded.tokenizer)
    jobs: list[tuple[str, object]] = []
    mined = ctx.previous("triggers")
    if mined and mined.get("trigger_file"):
        triggers = parse_triggers(mined["trigger_file"]).triggers[:cfg.triggers]
        jobs.append(("attaudit-triggers", lambda: run_attacker(
            AttAttrTriggerRecipe.build(wrapper, triggers), examples, name="attaudit-triggers")))
    for name in cfg.baselines:
        jobs.append((name, lambda name=name: run_baseline(name, wrapper, examples)))
    rows = []
    for i, (_name, job) in enumerate(jobs):
        ctx.progress(i / max(1, len(jobs)))
        rows.append(_row(job()))
    ctx.progress(1.0)
    return {"labels": ctx.labels, "n_examples": len(examples), "recipes": rows,
            "triggers_included": bool(mined and mined.get("trigger_file"))}
