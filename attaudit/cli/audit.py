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
    p.set_defaults(func=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    config = build_config(args)
    if args.plan:
        plan_audit(args.model, args.data, config, args.out, args.work_dir)
        return 0
    run_audit(args.model, args.data, config, args.out, args.work_dir)
    return 0
