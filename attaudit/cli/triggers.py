"""`attaudit triggers mine|attack|export`: attribution-mined adversarial triggers.

mine:   attribute a mining slice (training data, never the evaluation slice), extract and rank
        trigger patterns (Hao et al. AAAI 2021, section 4.4), write a trigger JSON file.
attack: insert the top-k triggers into every row of an evaluation file; per-class accuracy
        with/without the trigger, drop, attack success rate, flipped examples -> JSON + table.
export: write a TextAttack recipe file for `textattack attack --attack-from-file FILE^attack`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from attaudit.cli.common import tqdm_progress, write_json_atomic
from attaudit.cli.errors import UserError
from common import registries

POSITIONS = registries.TRIGGER_POSITIONS
RANKINGS = registries.TRIGGER_MINING_RANKINGS


def _data_args(p: argparse.ArgumentParser, *, model: bool = True) -> None:
    if model:
        p.add_argument("--model", required=True, help="directory of a saved sequence classifier")
        p.add_argument("--device", help="cpu | cuda | cuda:N (default: CUDA when present)")
    p.add_argument("--data", required=True, help="CSV / TSV / JSONL / Parquet file")
    p.add_argument("--text-column", help="text column (guessed from GLUE headers by default)")
    p.add_argument("--pair-column", help="second text column for sentence pairs")
    p.add_argument("--label-column", help="gold label column (names or integers)")
    p.add_argument("--limit", type=int, help="use the first N rows")


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return n


def _out_path(path: str) -> Path:
    out = Path(path)
    if not out.parent.is_dir():
        raise UserError(f"output directory {str(out.parent)!r} does not exist")
    return out


def _load(args, data: str, *, limit: int | None):
    from attribution.data import load_examples
    from attribution.model_loading import load_classifier

    loaded = load_classifier(args.model, device=args.device)
    examples = load_examples(data, text_column=args.text_column, pair_column=args.pair_column,
                             label_column=args.label_column, labels=loaded.labels, limit=limit)
    return loaded, examples


def _evidence(args, loaded):
    """(association or None, judges) from --reference-data / --judge."""
    from attacks.judges import judges_from_specs
    from attacks.label_association import association_from_file

    assoc = None
    if getattr(args, "reference_data", None):
        assoc = association_from_file(args.reference_data, loaded.labels, text_column=args.text_column,
                                      pair_column=args.pair_column, label_column=args.label_column)
    judges = judges_from_specs(args.judge or [], loaded.labels)
    return assoc, judges


def _evidence_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reference-data",
                   help="labelled file (e.g. the training set) for each trigger word's label association "
                        "(log-odds, Monroe et al. 2008); never the evaluated rows")
    p.add_argument("--judge", action="append", metavar="SPEC",
                   help="label judge: 'vader', 'auto', or a JSON file {\"name\": \"lexicon\"|\"model\"|\"nli\", ...} "
                        "(repeatable; see attacks/judges/__init__.py)")


def run_mine(args) -> int:
    from attacks.trigger_file import TriggerSet, make_provenance, save_triggers
    from attacks.trigger_mining import MiningOptions, mine_triggers, rank_by_damage
    from attribution.attention_attribution import AttentionAttribution
    from attribution.data import dataset_sha256, load_examples

    out = _out_path(args.out)
    if args.validation and Path(args.validation).resolve() == Path(args.data).resolve():
        raise UserError("--validation must not be the mining file")
    if args.threshold is None:
        args.threshold = 0.05 if args.threshold_mode == "relative" else 0.02
    opts = MiningOptions(threshold=args.threshold, threshold_mode=args.threshold_mode,
                         second_ratio=args.second_ratio,
                         top_pairs=args.top_pairs, rank_by=args.rank_by,
                         min_support=args.min_support, max_triggers=args.max_triggers,
                         method=args.method, steps=args.steps)
    loaded, examples = _load(args, args.data, limit=args.limit)
    assoc, judges = _evidence(args, loaded)
    if args.exclude_label_bearing and assoc is None and not judges:
        raise UserError("--exclude-label-bearing needs --reference-data or --judge")
    validation = None
    if args.validation:
        validation = load_examples(args.validation, text_column=args.text_column,
                                   pair_column=args.pair_column, label_column=args.label_column,
                                   labels=loaded.labels, limit=args.validation_limit)
    bar, hook = tqdm_progress("mining")
    try:
        triggers, patterns = mine_triggers(AttentionAttribution(loaded), examples, options=opts,
                                           progress=hook)
    finally:
        bar.close()
    if not triggers:
        scale = "x |F(A)-F(0)| of its layer" if opts.threshold_mode == "relative" else "(absolute)"
        raise UserError(f"no pattern reached the threshold {opts.threshold} {scale} on {len(examples)} rows")
    if args.position != "relative":
        triggers = [t.with_position(args.position) for t in triggers]
    label_bearing = []
    if args.exclude_label_bearing:
        from attacks.trigger_kinds import split_label_bearing

        triggers, label_bearing = split_label_bearing(triggers, association=assoc, judges=judges)
        if not triggers:
            raise UserError(f"all {len(label_bearing)} mined triggers carry the label they push toward")
    if validation is not None:
        triggers = rank_by_damage(loaded.model, loaded.tokenizer, triggers, validation,
                                  candidates=args.damage_candidates)
    mining = {"label_bearing_excluded": [t.to_json() for t in label_bearing] if args.exclude_label_bearing else None,
              "reference_data": args.reference_data, "judges": [j.describe() for j in judges],"rows": len(examples), "patterns": len(patterns), "threshold": opts.threshold,
              "threshold_mode": opts.threshold_mode,
              "second_ratio": opts.second_ratio, "top_pairs": opts.top_pairs,
              "rank_by": "damage" if validation is not None else opts.rank_by,
              "method": opts.method, "steps": opts.steps, "data": str(args.data),
              "validation": str(args.validation) if args.validation else None}
    prov = make_provenance(model_sha256=loaded.sha256, dataset_sha256=dataset_sha256(args.data),
                           mining=mining)
    save_triggers(TriggerSet(triggers, labels=list(loaded.labels), provenance=prov), out)
    print(f"{len(triggers)} triggers from {len(patterns)} patterns on {len(examples)} rows -> {out}")
    if label_bearing:
        print(f"  ({len(label_bearing)} label-bearing candidates set apart: "
              f"{', '.join(repr(t.text) for t in label_bearing[:5])}{' ...' if len(label_bearing) > 5 else ''})")
    for t in triggers[:10]:
        print(f"  {t.text!r:32} seg={t.segment} pushes={t.pushed_label_name} "
              f"support={t.support} rank={t.scores['rank']:.4f}")
    return 0


def run_attack(args) -> int:
    from attacks.trigger_attack import evaluate_triggers
    from attacks.trigger_file import load_triggers
    from attribution.data import dataset_sha256

    out = _out_path(args.json)
    trigger_set = load_triggers(args.triggers)
    loaded, examples = _load(args, args.data, limit=args.limit)
    chosen = trigger_set.triggers[: args.top_k]
    if any(ex.label is None for ex in examples):
        raise UserError(f"{args.data}: every attacked row needs a gold label (--label-column)")
    bar, hook = tqdm_progress("attacking")
    try:
        report = evaluate_triggers(loaded.model, loaded.tokenizer, examples, chosen,
                                   labels=loaded.labels, position=args.position,
                                   batch_size=args.batch_size, keep_flipped=args.keep_flipped,
                                   progress=hook)
    finally:
        bar.close()
    payload = report.to_json()
    assoc, judges = _evidence(args, loaded)
    findings = None
    if assoc is not None or judges:
        from attacks.trigger_kinds import classify_triggers
        from attacks.verdict import build_verdict

        findings = classify_triggers(report, association=assoc, judges=judges)
        evidence = {"association": assoc.describe() if assoc else None, "judges": [j.describe() for j in judges]}
        payload["findings"] = [f.to_json() for f in findings]
        payload["verdict"] = build_verdict(findings, loaded.labels, evidence=evidence)
    payload["provenance"] = {"model_sha256": loaded.sha256,
                             "dataset_sha256": dataset_sha256(args.data),
                             "triggers": trigger_set.provenance}
    if trigger_set.provenance.get("model_sha256") not in (None, loaded.sha256):
        payload["warning"] = "triggers were mined on a different model"
    write_json_atomic(out, payload)
    print(f"{report.num_examples} rows x {len(chosen)} triggers, {report.num_queries} model "
          f"queries in {report.seconds:.1f}s -> {out}")
    for r in report.results:
        drops = ", ".join(f"{c.label_name} {c.clean_accuracy:.3f}->{c.triggered_accuracy:.3f}"
                          for c in r.per_class)
        kind = f" {findings[r.rank].kind}" if findings else ""
        print(f"  #{r.rank} {r.trigger.text!r:28}{kind} success {r.attack_success_rate:.3f}  [{drops}]")
    if findings:
        print(payload["verdict"]["headline"])
    return 0


def run_export(args) -> int:
    from attacks.recipe_export import export_recipe
    from attacks.trigger_file import load_triggers

    out = _out_path(args.out)
    if out.suffix != ".py":
        raise UserError("--out must name a .py file (TextAttack imports it)")
    trigger_set = load_triggers(args.triggers)
    export_recipe(trigger_set, out, top_k=args.top_k, position=args.position,
                  dynamic_padding=not args.no_dynamic_padding)
    print(f"recipe with {len(trigger_set.triggers[: args.top_k])} triggers -> {out}\n"
          f"run: textattack attack --attack-from-file {out}^attack "
          f"--model-from-huggingface MODEL_DIR --dataset-from-file DATA.py")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("triggers", help="mine, evaluate and export adversarial triggers",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="triggers_command", metavar="ACTION", required=True)

    m = sub.add_parser("mine", help="mine ranked triggers from attention attribution")
    _data_args(m)
    m.add_argument("--out", required=True, help="trigger JSON file to write")
    m.add_argument("--threshold", type=float,
                   help="drop patterns scoring less: a fraction of the example's |F(A)-F(0)| in the "
                        "chosen layer (relative, default 0.05) or an absolute score (default 0.02)")
    m.add_argument("--threshold-mode", choices=registries.TRIGGER_THRESHOLD_MODES, default="relative",
                   help="relative (default: works on confident models) or absolute (reference code)")
    m.add_argument("--second-ratio", type=float, default=0.2,
                   help="use only the top-1 pair when the second is under this ratio of it")
    m.add_argument("--top-pairs", type=int, choices=(1, 2), default=2)
    m.add_argument("--rank-by", choices=RANKINGS, default="attribution_sum")
    m.add_argument("--min-support", type=_positive, default=1)
    m.add_argument("--max-triggers", type=_positive, default=50)
    m.add_argument("--method", default="gausslegendre", choices=registries.QUADRATURES,
                   help="attribution quadrature rule")
    m.add_argument("--steps", type=_positive, help="quadrature nodes")
    m.add_argument("--position", choices=POSITIONS, default="relative",
                   help="insertion rule stored with the triggers")
    m.add_argument("--validation", help="labelled file: re-rank by measured damage on it")
    m.add_argument("--validation-limit", type=_positive, default=200)
    m.add_argument("--damage-candidates", type=_positive, default=20)
    _evidence_args(m)
    m.add_argument("--exclude-label-bearing", action="store_true",
                   help="set apart candidates whose words carry the label they push toward before "
                        "ranking (needs --reference-data or --judge; listed in the file's provenance)")
    m.set_defaults(func=run_mine)

    a = sub.add_parser("attack", help="per-class accuracy drop and success rate of triggers")
    _data_args(a)
    a.add_argument("--triggers", required=True, help="trigger JSON file")
    a.add_argument("--json", required=True, help="write results to this JSON file")
    a.add_argument("--top-k", type=_positive, default=10)
    a.add_argument("--position", choices=POSITIONS, help="override the triggers' insertion rule")
    a.add_argument("--batch-size", type=_positive, default=64)
    a.add_argument("--keep-flipped", type=int, default=50, help="flipped examples kept per trigger")
    _evidence_args(a)
    a.set_defaults(func=run_attack)

    e = sub.add_parser("export", help="write a TextAttack recipe file")
    e.add_argument("--triggers", required=True, help="trigger JSON file")
    e.add_argument("--out", required=True, help="recipe .py file to write")
    e.add_argument("--top-k", type=_positive)
    e.add_argument("--position", choices=POSITIONS)
    e.add_argument("--no-dynamic-padding", action="store_true",
                   help="keep TextAttack's own model wrapper (pads to the maximum length)")
    e.set_defaults(func=run_export)
