"""Stage triggers: mine attribution triggers (Hao et al. AAAI 2021, section 4.4) on the mining
slice and measure the per-class damage of the top-k on the evaluation slice.

Beyond the paper: every measured trigger gets a kind (``attacks.trigger_kinds``: label-bearing,
spurious, counter-evidence) from the label association of its words in the labelled rows outside
the evaluation slice (or ``reference_data``) and from the configured judges; with
``exclude_label_bearing`` (default) label-bearing candidates are set apart before the damage
ranking and the first ``label_bearing_listed`` of them are measured and listed apart; the
verdict (``attacks.verdict``) reads only spurious / counter-evidence drops with 95% intervals.

Mining and the batched attack are ``attacks.trigger_mining`` and ``attacks.trigger_attack``; the
trigger file (with provenance) is kept so the report writer can export the TextAttack recipe.
"""

from __future__ import annotations

from typing import Any

from pipeline.context import StageContext

REQUIRES = [
    "attacks.trigger_mining:mine_triggers",
    "attacks.trigger_kinds:classify_triggers",
    "attacks.verdict:build_verdict",
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
            # measured direction: the label each flipped prediction moved to (label name -> count)
            "flipped_to": dict(sorted(r.pushed_toward.items(), key=lambda kv: (-kv[1], kv[0]))),
            "num_correct": r.num_correct,
            "examples": [{"before": _pair_text(f["text"], f["pair"]),
                          "after": _pair_text(f["triggered_text"], f["triggered_pair"]),
                          "gold": f["gold"], "pred_before": f["clean_prediction"],
                          "pred_after": f["triggered_prediction"]} for f in r.flipped[:10]],
        })
    return rows


def _evidence(ctx: StageContext):
    """(label association, judges, description) for the kinds (attacks.trigger_kinds)."""
    from attacks.judges import judges_from_specs
    from attacks.label_association import LabelAssociation, association_from_file

    cfg = ctx.config
    if cfg.reference_data:
        assoc = association_from_file(cfg.reference_data, ctx.labels, text_column=cfg.text_column,
                                      pair_column=cfg.pair_column, label_column=cfg.label_column)
    else:
        rows = [ex for name in ("mining", "importance") for ex in ctx.slice(name) if ex.label is not None]
        source = ("the mining and importance slices (the whole dataset: allow_overlap, so it includes "
                  "the evaluation rows)" if cfg.allow_overlap else
                  "the mining and importance slices (labelled rows outside the evaluation slice)")
        assoc = LabelAssociation.from_examples(rows, ctx.labels, source=source) if rows else None
    judges = judges_from_specs(cfg.judges, ctx.labels)
    return assoc, judges


def run(ctx: StageContext) -> dict:
    from attacks.trigger_attack import evaluate_triggers
    from attacks.trigger_file import TriggerSet, make_provenance
    from attacks.trigger_kinds import classify_triggers, split_label_bearing
    from attacks.trigger_mining import MiningOptions, mine_triggers, rank_by_damage
    from attacks.verdict import build_verdict
    from attribution.attention_attribution import AttentionAttribution

    cfg = ctx.config
    loaded = ctx.loaded
    mining = ctx.slice("mining", cfg.mining_examples)
    evaluation = ctx.labelled("eval", cfg.eval_examples)
    assoc, judges = _evidence(ctx)
    evidence = {"association": assoc.describe() if assoc else None, "judges": [j.describe() for j in judges]}
    options = MiningOptions(method=cfg.method, steps=cfg.steps, threshold=cfg.trigger_threshold,
                            threshold_mode=cfg.trigger_threshold_mode)
    triggers, patterns = mine_triggers(AttentionAttribution(loaded), mining, options=options,
                                       progress=ctx.sub_progress(0.0, 0.75))
    if not triggers:
        return {"labels": ctx.labels, "n_mining": len(mining), "n_eval": len(evaluation),
                "patterns": len(patterns), "triggers": [], "label_bearing": [], "trigger_file": None,
                "verdict": build_verdict([], ctx.labels, evidence=evidence),
                "note": "no pattern passed the mining threshold"}
    bearing: list = []
    if cfg.exclude_label_bearing and (assoc is not None or judges):
        triggers, bearing = split_label_bearing(triggers, association=assoc, judges=judges)
    if cfg.trigger_ranking == "damage":
        # re-rank on the importance slice: held out from both mining and evaluation
        validation = ctx.labelled("importance", cfg.importance_examples)
        if triggers:
            triggers = rank_by_damage(loaded.model, loaded.tokenizer, triggers, validation)
        if bearing:
            bearing = rank_by_damage(loaded.model, loaded.tokenizer, bearing, validation)
    ctx.progress(0.85)
    trigger_set = TriggerSet(triggers=list(triggers) + list(bearing), labels=ctx.labels, provenance=make_provenance(
        model_sha256=ctx.model_sha256, dataset_sha256=ctx.dataset_sha256,
        mining={"examples": len(mining), "ranking": cfg.trigger_ranking, "method": cfg.method,
                "steps": cfg.steps, "threshold": options.threshold, "threshold_mode": options.threshold_mode,
                "second_ratio": options.second_ratio,
                "label_bearing_set_apart": [t.text for t in bearing]}))
    ranked = list(triggers[: cfg.triggers])
    listed = list(bearing[: cfg.label_bearing_listed])
    report = evaluate_triggers(loaded.model, loaded.tokenizer, evaluation, ranked + listed,
                               labels=ctx.labels, seed=cfg.seed, device=loaded.device,
                               progress=ctx.sub_progress(0.85, 0.97))
    findings = classify_triggers(report, association=assoc, judges=judges)
    ctx.progress(0.99)
    rows = attack_rows(report)
    for row, f in zip(rows, findings, strict=True):
        row["kind"] = f.kind
        row["measured_push"] = f.pushed_name
        row["evidence"] = f.evidence
        row["drops"] = {"raw": [c.to_json() for c in f.raw],
                        "judged": None if f.judged is None else [c.to_json() for c in f.judged]}
    n = len(ranked)
    return {"labels": ctx.labels, "n_mining": len(mining), "n_eval": len(evaluation),
            "seconds_attack": report.seconds, "queries": report.num_queries,
            "patterns": len(patterns), "ranking": cfg.trigger_ranking,
            "triggers": rows[:n], "label_bearing": rows[n:],
            "label_bearing_set_apart": len(bearing), "exclude_label_bearing": cfg.exclude_label_bearing,
            "verdict": build_verdict(findings, ctx.labels, evidence=evidence),
            "trigger_file": trigger_set.to_json()}
