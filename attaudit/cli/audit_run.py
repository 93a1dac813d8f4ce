"""What `attaudit audit` and `attaudit demo` share: config from flags, progress bars, the run.

Both call ``pipeline.AuditRun``, the same code path the service workers use.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from attaudit.cli.errors import UserError


def _names(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",")]
    if len(names) < 2 or any(not n for n in names):
        raise UserError(f"--label-names: expected comma-separated class names such as negative,positive, "
                        f"got {value!r}")
    return names


def build_config(args: argparse.Namespace, **defaults: object):
    """An AuditConfig from the flags that were given (pydantic errors become one line)."""
    from pydantic import ValidationError

    from common.audit_config import AuditConfig

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
    from pipeline.report.format import num, pct, pp

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
    from pipeline import AuditRun

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
              f"name them in index order with --label-names NAME0,NAME1,... (for example negative,positive)",
              file=sys.stderr)
    return results
