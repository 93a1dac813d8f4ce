"""`attaudit audit`: run the audit pipeline locally and write the report (``pipeline.AuditRun``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from attaudit.cli.audit_run import build_config, run_audit
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
    _add_budget_args(p)
    p.set_defaults(func=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    config = build_config(args)
    run_audit(args.model, args.data, config, args.out, args.work_dir)
    return 0
