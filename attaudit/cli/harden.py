"""`attaudit harden`: fine-tune a copy of the model against its audit's vulnerabilities
(spurious and counter-evidence triggers), then re-audit it with triggers mined anew and the
universal-trigger baseline; prints the before/after table (``pipeline.hardening``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from attaudit.cli.errors import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("harden", help="fine-tune against the audit's triggers, then re-audit",
                              description=__doc__)
    p.add_argument("--model", type=Path, required=True, help="the audited model directory")
    p.add_argument("--data", type=Path, required=True, help="labelled training data (CSV/TSV/JSONL/Parquet)")
    p.add_argument("--audit", type=Path, required=True, help="the --out folder of `attaudit audit`")
    p.add_argument("--out", type=Path, required=True, help="new folder for the hardened model")
    p.add_argument("--audit-data", type=Path, help="the audit's dataset, if it moved since the audit")
    p.add_argument("--steps", type=int, help="fine-tuning steps (default 200)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--augment-fraction", type=float, help="triggered copies per training row (default 0.5)")
    p.add_argument("--max-train-rows", type=int)
    p.add_argument("--time-budget", type=float, dest="time_budget_s", help="seconds")
    p.add_argument("--seed", type=int)
    p.set_defaults(func=run)


def build_config(args: argparse.Namespace):
    from pydantic import ValidationError

    from pipeline.hardening import HardenConfig

    fields = {k: getattr(args, k) for k in ("steps", "batch_size", "lr", "augment_fraction",
                                            "max_train_rows", "time_budget_s", "seed")
              if getattr(args, k, None) is not None}
    try:
        return HardenConfig(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UserError(f"--{'-'.join(str(x) for x in first['loc']).replace('_', '-')}: "
                        f"{first['msg']}") from None


def _cell(m: dict | None) -> str:
    if not m:
        return "n/a"
    return f"{m['drop']:+.1%} [{m['low']:+.1%}, {m['high']:+.1%}] ({m['label']}, '{m['trigger']}')"


def run(args: argparse.Namespace) -> int:
    from attaudit.cli.audit_run import StageBars
    from pipeline.hardening import harden

    config = build_config(args)
    bars = StageBars()
    try:
        doc = harden(args.model, args.data, args.audit, args.out, config, data_path=args.audit_data,
                     progress=bars)
    finally:
        bars.close()
    s = doc["summary"]
    print(f"hardened model -> {args.out} (report: {args.out / 'audit'})")
    for name in ("before", "after"):
        c = s["clean_accuracy"][name]
        print(f"{name:>6}: clean accuracy {c['value']:.1%} [{c['low']:.1%}, {c['high']:.1%}] n={c['n']}")
        print(f"        worst old-trigger drop {_cell(s['old_trigger_worst'][name])}")
        print(f"        worst new-trigger drop {_cell(s['new_trigger_worst'][name])}")
        if "universal_worst" in s:
            print(f"        universal trigger drop {_cell(s['universal_worst'].get(name))}")
    if doc["budget"]["skipped_for_budget"]:
        print(f"skipped for the time budget: {', '.join(doc['budget']['skipped_for_budget'])}")
    return 0
