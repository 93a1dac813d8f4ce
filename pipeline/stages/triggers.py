"""Stage triggers: mine attribution triggers (Hao et al. AAAI 2021, section 4.4) on the mining
slice and measure the per-class damage of the top-k on the evaluation slice.

Mining and the batched attack are ``attacks.trigger_mining`` and ``attacks.trigger_attack``; the
trigger file (with provenance) is kept so the report writer can export the TextAttack recipe.
"""

from __future__ import annotations

from typing import Any

from pipeline.context import StageContext

REQUIRES = [
    "attacks.trigger_mining:mine_triggers",
    "attacks.trigger_attack:evaluate_triggers",
    "attacks.recipe_export:render_recipe",
]


def _pair_text(text: str, pair: str | None) -> str:
    return text if pair is None else f"{text} [SEP] {pair}"


def attack_rows(report: Any) -> list[dict]:
    """The report's view of ``attacks.trigger_attack.TriggerAttackReport``."""
    rows = []
    for r in report.results:
        t = r.trigger
        rows.append({
            "tokens": list(t.tokens), "pushed_label": t.pushed_label_name, "position": t.position,
            "segment": t.segment, "score": t.scores.get("rank"), "support": t.support,
            "per_class": [{"label": c.label_name, "n": c.num_examples, "accuracy_before": c.clean_accuracy,
                           "accuracy_after": c.triggered_accuracy, "drop": c.drop} for c in r.per_class],
            "clean_accuracy": r.clean_accuracy, "triggered_accuracy": r.triggered_accuracy,
            "success_rate": r.attack_success_rate, "num_flipped": r.num_flipped,
            "num_correct": r.num_correct,
            "examples": [{"before": _pair_text(f["text"], f["pair"]),
                          "after": _pair_text(f["triggered_text"], f["triggered_pair"]),
                          "gold": f["gold"], "pred_before": f["clean_prediction"],
                          "pred_after": f["triggered_prediction"]} for f in r.flipped[:10]],
        })
    return rows


def run(ctx: StageContext) -> dict:
    from attacks.trigger_attack import evaluate_triggers
    from attacks.trigger_file import TriggerSet, make_provenance
    from attacks.trigger_mining import MiningOptions, mine_triggers, rank_by_damage
    from attribution.attention_attribution import AttentionAttribution

    cfg = ctx.config
    loaded = ctx.loaded
    mining = ctx.slice("mining", cfg.mining_examples)
    evaluation = ctx.labelled("eval", cfg.eval_examples)
    options = MiningOptions(method=cfg.method, steps=cfg.steps, threshold=cfg.trigger_threshold)
    triggers, patterns = mine_triggers(AttentionAttribution(loaded), mining, options=options,
                                       progress=ctx.sub_progress(0.0, 0.8))
    if not triggers:
        return {"labels": ctx.labels, "n_mining": len(mining), "n_eval": len(evaluation),
                "patterns": len(patterns), "triggers": [], "trigger_file": None,
                "note": "no pattern passed the mining threshold"}
    if cfg.trigger_ranking == "damage":
        # re-rank on the importance slice: held out from both mining and evaluation
        validation = ctx.labelled("importance", cfg.importance_examples)
        triggers = rank_by_damage(loaded.model, loaded.tokenizer, triggers, validation)
    ctx.progress(0.85)
    trigger_set = TriggerSet(triggers=list(triggers), labels=ctx.labels, provenance=make_provenance(
        model_sha256=ctx.model_sha256, dataset_sha256=ctx.dataset_sha256,
        mining={"examples": len(mining), "ranking": cfg.trigger_ranking, "method": cfg.method,
                "steps": cfg.steps, "threshold": options.threshold, "second_ratio": options.second_ratio}))
    report = evaluate_triggers(loaded.model, loaded.tokenizer, evaluation, trigger_set.triggers[:cfg.triggers],
                               labels=ctx.labels, seed=cfg.seed, device=loaded.device,
                               progress=ctx.sub_progress(0.85, 1.0))
    return {"labels": ctx.labels, "n_mining": len(mining), "n_eval": len(evaluation),
            "seconds_attack": report.seconds, "queries": report.num_queries,
            "patterns": len(patterns), "ranking": cfg.trigger_ranking,
            "triggers": attack_rows(report), "trigger_file": trigger_set.to_json()}
