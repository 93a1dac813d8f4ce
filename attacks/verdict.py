"""The vulnerability verdict: per class, the worst trigger that does not simply change the label.

Reads ``attacks.trigger_kinds`` findings. Per gold class: among ``spurious`` and
``counter-evidence`` triggers, the drop used is the judged drop (examples every judge says keep
their label) when judges ran, else the raw drop; a drop counts as a vulnerability only when its
paired 95% interval (Newcombe) excludes 0. The worst is the vulnerable trigger with the largest
drop (or, when none is vulnerable, the largest drop, reported as not a vulnerability).
``label-bearing`` triggers never enter the verdict; they are counted and listed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from attacks.trigger_kinds import KINDS, VULNERABILITY_KINDS, ClassDrop, TriggerFinding


def _drop_of(f: TriggerFinding, c: int) -> tuple[ClassDrop, str]:
    if f.judged is not None and f.judged[c].n > 0:
        return f.judged[c], "judged"
    return f.raw[c], "raw"


def build_verdict(findings: Sequence[TriggerFinding], labels: Sequence[str], *,
                  evidence: dict[str, Any] | None = None) -> dict[str, Any]:
    """JSON-ready verdict: per class worst vulnerability, counts per kind, evidence, headline."""
    per_class = []
    for c, name in enumerate(labels):
        rows = []
        for f in findings:
            if f.kind not in VULNERABILITY_KINDS:
                continue
            d, basis = _drop_of(f, c)
            if d.n == 0 or d.drop != d.drop:
                continue
            rows.append((d.ci[0] > 0, d.drop, f, d, basis))
        vulnerable = [r for r in rows if r[0]]
        pick = max(vulnerable or rows, key=lambda r: r[1], default=None)
        entry: dict[str, Any] = {"label": name, "vulnerable": bool(vulnerable), "worst": None}
        if pick is not None:
            ok, _, f, d, basis = pick
            entry["worst"] = {"trigger": f.text, "kind": f.kind, "pushes_toward": f.pushed_name,
                              "basis": basis, "is_vulnerability": ok, **d.to_json(),
                              "drop_pp": round(100 * d.drop, 1),
                              "drop_ci95_pp": [round(100 * d.ci[0], 1), round(100 * d.ci[1], 1)]}
        per_class.append(entry)
    counts = Counter(f.kind for f in findings)
    worst = [e["worst"] for e in per_class if e["vulnerable"]]
    top = max(worst, key=lambda w: w["drop"], default=None)
    if top is None:
        headline = (f"No vulnerability: no spurious or counter-evidence trigger has a drop whose 95% "
                    f"interval excludes 0 ({counts.get('label-bearing', 0)} label-bearing triggers "
                    "change the label and are listed apart).")
    else:
        lo, hi = top["drop_ci95"]

        def pp(drop: float) -> str:  # an accuracy change in percentage points, as the report writes it
            out = f"{-100.0 * drop:+.1f} pp"
            return "0.0 pp" if out in ("+0.0 pp", "-0.0 pp") else out

        headline = (f"Vulnerability: inserting {top['trigger']!r} ({top['kind']}) changes "
                    f"{top['label']} accuracy by {pp(top['drop'])} (95% CI {pp(hi)} to {pp(lo)}, "
                    f"n={top['n']}, success rate {100 * top['success_rate']:.1f}%).")
    return {
        "headline": headline,
        "vulnerability_drop": 0.0 if top is None else top["drop"],
        "vulnerable_classes": [e["label"] for e in per_class if e["vulnerable"]],
        "per_class": per_class,
        "counts": {k: counts.get(k, 0) for k in KINDS},
        "evidence": evidence or {},
        "rule": "drop = clean - triggered accuracy on the class (judged examples when judges ran); "
                "a vulnerability needs its paired 95% interval (Newcombe) to exclude 0; "
                "label-bearing triggers are not vulnerabilities",
    }
