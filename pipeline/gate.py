"""Release gate: `attaudit audit --fail-on "vulnerability_drop>0.2,clean_accuracy<0.8"` and JUnit XML.

Grammar (whitespace ignored)::

    checks  := check ("," check)*
    check   := METRIC OP NUMBER ["%"]
    OP      := ">" | ">=" | "<" | "<=" | "==" | "!="

A check FAILS when its comparison is true (``vulnerability_drop>0.2`` fails when the worst
vulnerability drops accuracy by more than 0.2 = 20 percentage points). ``NUMBER%`` is divided
by 100. Metrics (``METRICS``) and the stage each needs:

* ``vulnerability_drop``: the verdict's largest per-class drop among spurious/counter-evidence
  triggers whose 95% interval excludes 0 (0 when there is none) (stage triggers);
* ``vulnerabilities``: classes with such a vulnerability (triggers);
* ``spurious``, ``counter_evidence``, ``label_bearing``: triggers of each kind (triggers);
* ``clean_accuracy``: accuracy on the evaluation slice (clean_eval).

Bad expressions raise ``GateError`` (CLI exit 2). The JUnit file holds one test case per check
(the way CI systems show gated releases).
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

METRICS: dict[str, str] = {
    "vulnerability_drop": "triggers",
    "vulnerabilities": "triggers",
    "spurious": "triggers",
    "counter_evidence": "triggers",
    "label_bearing": "triggers",
    "clean_accuracy": "clean_eval",
}
OPS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
       ">": operator.gt, "<": operator.lt}
_CHECK = re.compile(r"^([a-z_]+)(>=|<=|==|!=|>|<)(-?\d+(?:\.\d+)?(?:e-?\d+)?)(%?)$")


class GateError(ValueError):
    """A --fail-on expression that cannot be read (CLI exit 2)."""

    input_error = True


@dataclass(frozen=True)
class Check:
    metric: str
    op: str
    threshold: float
    text: str

    def evaluate(self, value: float | None) -> tuple[bool, str]:
        """(failed, message)."""
        if value is None:
            return True, f"{self.metric} was not measured"
        failed = OPS[self.op](value, self.threshold)
        verb = "fails" if failed else "passes"
        return failed, f"{self.metric} = {value:.4g} {verb} {self.text}"


def parse_checks(expression: str) -> list[Check]:
    """Parse the --fail-on grammar (module docstring); raises ``GateError``."""
    checks = []
    parts = [p for p in expression.replace(" ", "").split(",")]
    if not expression.strip() or any(not p for p in parts):
        raise GateError(f"--fail-on {expression!r}: empty check; write e.g. 'vulnerability_drop>0.2,clean_accuracy<0.8'")
    for part in parts:
        m = _CHECK.match(part)
        if not m:
            raise GateError(f"--fail-on: cannot read {part!r}; a check is METRIC OP NUMBER with OP one of "
                            f"{' '.join(OPS)} (e.g. vulnerability_drop>0.2)")
        metric, op, number, pct = m.groups()
        if metric not in METRICS:
            raise GateError(f"--fail-on: unknown metric {metric!r}; valid: {', '.join(METRICS)}")
        checks.append(Check(metric, op, float(number) / (100 if pct else 1), part))
    return checks


def required_stages(checks: list[Check]) -> set[str]:
    return {METRICS[c.metric] for c in checks}


def metrics_from_results(results: dict[str, Any]) -> dict[str, float | None]:
    """The gate metrics from the audit's stage results (``{stage: result}``)."""
    out: dict[str, float | None] = dict.fromkeys(METRICS)
    clean = results.get("clean_eval") or {}
    if "accuracy" in clean:
        out["clean_accuracy"] = float(clean["accuracy"])
    trig = results.get("triggers")
    if trig is not None:
        verdict = trig.get("verdict") or {}
        counts = verdict.get("counts") or {}
        out["vulnerability_drop"] = float(verdict.get("vulnerability_drop", 0.0))
        out["vulnerabilities"] = float(len(verdict.get("vulnerable_classes", [])))
        out["spurious"] = float(counts.get("spurious", 0))
        out["counter_evidence"] = float(counts.get("counter-evidence", 0))
        out["label_bearing"] = float(counts.get("label-bearing", 0))
    return out


def run_checks(checks: list[Check], metrics: dict[str, float | None]) -> list[dict[str, Any]]:
    rows = []
    for c in checks:
        failed, message = c.evaluate(metrics.get(c.metric))
        rows.append({"check": c.text, "metric": c.metric, "value": metrics.get(c.metric),
                     "failed": failed, "message": message})
    return rows


def write_junit(path: str | Path, rows: list[dict[str, Any]], *, suite: str = "attaudit.gate",
                headline: str | None = None) -> Path:
    """One JUnit ``testcase`` per check; a failing check carries a ``failure`` element."""
    from common.atomic_io import write_text_atomic

    failures = sum(r["failed"] for r in rows)
    root = ET.Element("testsuites", tests=str(len(rows)), failures=str(failures))
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(rows)), failures=str(failures),
                       errors="0", skipped="0")
    for r in rows:
        tc = ET.SubElement(ts, "testcase", classname=suite, name=r["check"])
        if r["failed"]:
            f = ET.SubElement(tc, "failure", message=r["message"], type="GateFailure")
            f.text = r["message"] + (f"\n{headline}" if headline else "")
        else:
            ET.SubElement(tc, "system-out").text = r["message"]
    text = ET.tostring(root, encoding="unicode")
    return write_text_atomic(Path(path), '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")
