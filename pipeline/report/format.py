"""Number formats used in the report. Every figure the HTML shows is one of these applied to a
number in the JSON twin (the tests check exactly that)."""

from __future__ import annotations

import html


def pct(x: float | None) -> str:
    """A fraction as a percentage with one decimal: 0.8345 -> '83.5%'."""
    if x is None:
        return "n/a"
    out = f"{100.0 * float(x):.1f}%"
    return "0.0%" if out == "-0.0%" else out


def num(x: float | None) -> str:
    """A score with three decimals."""
    if x is None:
        return "n/a"
    out = f"{float(x):.3f}"
    return "0.000" if out == "-0.000" else out


def pp(drop: float | None) -> str:
    """An accuracy drop (a fraction, before - after) as a signed change in percentage points, the one
    way the report writes drops: 0.683 -> '-68.3 pp' (accuracy fell), -0.02 -> '+2.0 pp' (rose)."""
    if drop is None:
        return "n/a"
    out = f"{-100.0 * float(drop):+.1f} pp"
    return "0.0 pp" if out in ("+0.0 pp", "-0.0 pp") else out


def secs(x: float | None) -> str:
    """Seconds with one decimal."""
    return "n/a" if x is None else f"{float(x):.1f} s"


FORMATTERS = (pct, num, secs, pp)


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)
