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


def secs(x: float | None) -> str:
    """Seconds with one decimal."""
    return "n/a" if x is None else f"{float(x):.1f} s"


FORMATTERS = (pct, num, secs)


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)
