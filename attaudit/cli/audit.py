"""`attaudit audit`: run the audit pipeline locally and write the report (``pipeline.AuditRun``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from attaudit.cli.audit_run import build_config, plan_audit, run_audit
from common import registries
from common.audit_config import DEFAULT_STAGES, STAGE_NAMES


def _add_budget_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stages", nargs="+", metavar="STAGE", choices=STAGE_NAMES,
                   help=f"stages to run (default: {' '.join(DEFAULT_STAGES)}; all: {' '.join(STAGE_NAMES)})")
    p.add_argument("--examples", type=int, help="examples shown per example (attribution, explainers)")
    p.add_argument("--eval-examples", type=int, help="cap on the evaluation slice")
    p.add_argument("--steps", type=int, help="AttAttr integration nodes")
    p.add_argument("--triggers", type=int, help="mined triggers to evaluate")
    p.add_argument("--heads-orderings", nargs="+", metavar="ORDERING", choices=registries.HEAD_ORDERINGS,
                   help=f"head importance orderings ({', '.join(registries.HEAD_ORDERINGS)})")
    p.add_argument("--seed", type=int)
    p.add_argument("--work-dir", type=Path, help="stage cache directory (default: OUT/cache)")
    p.add_argument("--out", type=Path, required=True, help="output directory for report.html/report.json")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("audit", help="audit a model on a dataset and write the HTML report",
                              description="Run the audit pipeline and write report.html + report.json.")
    p.add_argument("--model", type=Path, required=True, help="model directory (safetensors)")
    p.add_argument("--data", type=Path, required=True, help="CSV, TSV, JSONL or Parquet file")
    p.add_argument("--text-column")
    p.add_argument("--pair-column")
    p.add_argument("--label-column")
    p.add_argument("--truncation", choices=registries.TRUNCATION_SIDES,
                   help="how inputs longer than the model's maximum are cut (default head)")
    p.add_argument("--max-length", type=int, help="cut inputs to this many tokens (default: model maximum)")
    p.add_argument("--dense-tensors", action="store_true", default=None,
                   help="also write the (L, H, T, T) attribution tensors to attribution_tensors.safetensors")
    p.add_argument("--plan", action="store_true",
                   help="estimate each stage's time on this device (one timed calibration pass) and exit")
    p.add_argument("--label-names", metavar="NAME,NAME,...",
                   help="names of the model's classes in index order, e.g. negative,positive, for a model "
                   "whose config calls them LABEL_0, LABEL_1, ...")
    _add_budget_args(p)
    _add_evidence_args(p)
    p.add_argument("--fail-on", metavar="CHECKS",
                   help="release gate, e.g. 'vulnerability_drop>0.2,clean_accuracy<0.8': comma-separated "
                        "METRIC OP NUMBER[%%] checks (OP: > >= < <= == !=), exit 1 when one is true; metrics: "
                        "vulnerability_drop, vulnerabilities, spurious, counter_evidence, label_bearing, "
                        "clean_accuracy (pipeline/gate.py)")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write one JUnit XML test case per --fail-on check")
    p.set_defaults(func=cmd_audit)


def _add_evidence_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reference-data", type=Path,
                   help="labelled file (e.g. the training set) for the trigger words' label association "
                        "(default: the labelled rows outside the evaluation slice)")
    p.add_argument("--judge", action="append", metavar="SPEC",
                   help="label judge for the trigger kinds: 'auto' (default: VADER on negative/positive labels), "
                        "'vader', 'none', or a JSON file {\"name\": \"lexicon\"|\"model\"|\"nli\", ...} (repeatable)")
    p.add_argument("--keep-label-bearing", action="store_true",
                   help="rank label-bearing trigger candidates by damage too (default: set apart, listed)")
    p.add_argument("--trigger-threshold-mode", choices=registries.TRIGGER_THRESHOLD_MODES,
                   help="mining threshold relative to each example's |F(A)-F(0)| (default) or absolute")
    p.add_argument("--trigger-threshold", type=float, help="mining threshold (relative: 0.05, absolute: 0.02)")


def evidence_fields(args: argparse.Namespace) -> dict:
    """AuditConfig fields from the evidence flags (the reference file is hashed for the cache)."""
    from attaudit.cli.errors import UserError
    from common.hashing import file_sha256

    fields: dict = {}
    if getattr(args, "reference_data", None) is not None:
        if not args.reference_data.is_file():
            raise UserError(f"--reference-data: file {str(args.reference_data)!r} not found")
        fields["reference_data"] = str(args.reference_data.resolve())
        fields["reference_data_sha256"] = file_sha256(args.reference_data)
    if getattr(args, "judge", None):
        fields["judges"] = [] if args.judge == ["none"] else list(args.judge)
    if getattr(args, "keep_label_bearing", False):
        fields["exclude_label_bearing"] = False
    if getattr(args, "trigger_threshold_mode", None):
        fields["trigger_threshold_mode"] = args.trigger_threshold_mode
        if args.trigger_threshold is None and args.trigger_threshold_mode == "absolute":
            fields["trigger_threshold"] = 0.02
    if getattr(args, "trigger_threshold", None) is not None:
        fields["trigger_threshold"] = args.trigger_threshold
    return fields


def cmd_audit(args: argparse.Namespace) -> int:
    from pipeline.gate import parse_checks, required_stages

    checks = parse_checks(args.fail_on) if args.fail_on else []
    if args.junit is not None and not checks:
        from attaudit.cli.errors import UserError

        raise UserError("--junit needs --fail-on (one test case per check)")
    config = build_config(args, **evidence_fields(args))
    missing = required_stages(checks) - set(config.stages)
    if missing:
        from attaudit.cli.errors import UserError

        raise UserError(f"--fail-on reads stage(s) {', '.join(sorted(missing))}, not in --stages")
    if args.plan:
        plan_audit(args.model, args.data, config, args.out, args.work_dir)
        return 0
    results = run_audit(args.model, args.data, config, args.out, args.work_dir)
    if not checks:
        return 0
    return gate(checks, results, args.junit)


def gate(checks, results: dict, junit: Path | None) -> int:
    """Print each check; write the JUnit file; 1 when a check fails."""
    from pipeline.gate import metrics_from_results, run_checks, write_junit

    rows = run_checks(checks, metrics_from_results(results.get("stages", {})))
    headline = (results.get("summary", {}).get("verdict") or {}).get("headline")
    if junit is not None:
        write_junit(junit, rows, headline=headline)
    for r in rows:
        print(f"{'FAIL' if r['failed'] else 'pass'}  {r['message']}")
    failed = [r for r in rows if r["failed"]]
    if failed:
        print(f"release gate: {len(failed)} of {len(rows)} checks failed")
        return 1
    return 0
