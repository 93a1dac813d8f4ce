"""`attaudit audit` and `attaudit demo`: run the audit pipeline locally and write the report.

Both call ``attaudit.pipeline.AuditRun``, the same code path the service workers use.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from attaudit.cli.errors import UserError
from attaudit.pipeline.config import DEFAULT_STAGES, STAGE_NAMES


def _add_budget_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stages", nargs="+", metavar="STAGE",
                   help=f"stages to run (default: {' '.join(DEFAULT_STAGES)}; all: {' '.join(STAGE_NAMES)})")
    p.add_argument("--examples", type=int, help="examples shown per example (attribution, explainers)")
    p.add_argument("--eval-examples", type=int, help="cap on the evaluation slice")
    p.add_argument("--steps", type=int, help="AttAttr integration nodes")
    p.add_argument("--triggers", type=int, help="mined triggers to evaluate")
    p.add_argument("--heads-orderings", nargs="+", metavar="ORDERING", help="head importance orderings")
    p.add_argument("--seed", type=int)
    p.add_argument("--work-dir", type=Path, help="stage cache directory (default: OUT/cache)")
    p.add_argument("--out", type=Path, required=True, help="output directory for report.html/report.json")


def _names(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",")]
    if len(names) < 2 or any(not n for n in names):
        raise UserError(f"--label-names: expected comma-separated class names such as negative,positive, "
                        f"got {value!r}")
    return names


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("audit", help="audit a model on a dataset and write the HTML report",
                              description="Run the audit pipeline and write report.html + report.json.")
    p.add_argument("--model", type=Path, required=True, help="model directory (safetensors)")
    p.add_argument("--data", type=Path, required=True, help="CSV, TSV, JSONL or Parquet file")
    p.add_argument("--text-column")
    p.add_argument("--pair-column")
    p.add_argument("--label-column")
    p.add_argument("--label-names", metavar="NAME,NAME,...",
                   help="names of the model's classes in index order, e.g. negative,positive, for a model "
                   "whose config calls them LABEL_0, LABEL_1, ...")
    _add_budget_args(p)
    p.set_defaults(func=cmd_audit)

    d = subparsers.add_parser("demo", help="fine-tune MiniLM on SST-2 and audit it (offline)",
                              description="Fine-tune MiniLM briefly on SST-2, then run the full audit.")
    d.add_argument("--data", type=Path, help="SST-2 folder with train.tsv and dev.tsv "
                   "(default: ../shared/data/SST-2 next to the repo, else GLUE sst2 when online)")
    d.add_argument("--finetune-steps", type=int, default=None, help="fine-tuning steps")
    d.add_argument("--stages", nargs="+", metavar="STAGE")
    d.add_argument("--out", type=Path, default=Path("out/demo"))
    d.set_defaults(func=cmd_demo)


def build_config(args: argparse.Namespace, **defaults: object):
    """An AuditConfig from the flags that were given (pydantic errors become one line)."""
    from pydantic import ValidationError

    from attaudit.pipeline.config import AuditConfig

    fields = dict(defaults)
    for name in ("stages", "examples", "eval_examples", "steps", "triggers", "heads_orderings", "seed",
                 "text_column", "pair_column", "label_column", "label_names"):
        value = getattr(args, name, None)
        if name == "label_names" and value is not None:
            value = _names(value)
        if value is not None:
            fields[name] = value
    try:
        return AuditConfig(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UserError(f"--{'-'.join(str(x) for x in first['loc']).replace('_', '-')}: "
                        f"{first['msg'].removeprefix('Value error, ')}") from None


class StageBars:
    """tqdm progress bar per stage, fed by the pipeline's (stage, fraction) callback."""

    def __init__(self) -> None:
        self._bar = None
        self._stage: str | None = None

    def __call__(self, stage: str, fraction: float) -> None:
        from tqdm import tqdm

        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = tqdm(total=1000, desc=f"{stage:<11}", unit="‰", file=sys.stderr,
                             bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}")
        target = int(round(fraction * 1000))
        if self._bar is not None and target > self._bar.n:
            self._bar.update(target - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def one_line_summary(results: dict, seconds: float, html: Path) -> str:
    from attaudit.report.format import num, pct, pp

    s = results["summary"]
    parts = []
    if "clean_accuracy" in s:
        parts.append(f"clean accuracy {pct(s['clean_accuracy'])}")
    if s.get("worst_trigger"):
        w = s["worst_trigger"]
        parts.append(f"worst trigger '{w['trigger']}' {pp(w['drop'])} on {w['label']} accuracy")
    if s.get("top_heads"):
        h = s["top_heads"]["heads"][0]
        parts.append(f"top head L{h['layer']}-H{h['head']}")
    if s.get("most_faithful"):
        f = s["most_faithful"]
        parts.append(f"most faithful {f['explainer']} ({num(f['aopc_comprehensiveness'])})")
    return f"audit done in {seconds:.0f} s: {'; '.join(parts) or 'no stage results'} -> {html}"


def run_audit(model: Path, data: Path, config, out: Path, work_dir: Path | None) -> dict:
    from attaudit.pipeline import AuditRun

    t0 = time.perf_counter()
    bars = StageBars()
    run = AuditRun(model, data, config, work_dir or (out / "cache"), progress=bars)
    run.slices()  # read and split the data first: a bad file fails before any progress bar
    try:
        results = run.run_all()
    finally:
        bars.close()
    paths = run.write_report(out)
    print(one_line_summary(results, time.perf_counter() - t0, paths["report.html"]))
    model = results["metadata"]["model"]
    if model.get("labels_generic"):
        print(f"hint: the model's config does not name its classes ({', '.join(model['labels'])}); "
              f"name them in index order with --label-names, e.g. --label-names negative,positive",
              file=sys.stderr)
    return results


def cmd_audit(args: argparse.Namespace) -> int:
    config = build_config(args)
    run_audit(args.model, args.data, config, args.out, args.work_dir)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from attaudit.cli.demo import run_demo

    return run_demo(args)
