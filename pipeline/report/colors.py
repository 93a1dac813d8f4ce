"""Colour-blind-safe palettes: viridis (sequential), purple-orange (diverging), Okabe-Ito (lines)."""

from __future__ import annotations

# viridis at 0, 1/8, ..., 1 (matplotlib's values)
VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962",
           "#addc30", "#fde725"]
# PuOr (ColorBrewer): negative -> orange, 0 -> light grey, positive -> purple
DIVERGING = ["#b35806", "#f1a340", "#fee0b6", "#f7f7f7", "#d8daeb", "#998ec3", "#542788"]
# Okabe & Ito (2008), distinguishable under the common colour-vision deficiencies
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


def _hex(c: str) -> tuple[int, int, int]:
    return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)


def _interp(stops: list[str], t: float) -> str:
    t = min(1.0, max(0.0, t))
    pos = t * (len(stops) - 1)
    i = min(int(pos), len(stops) - 2)
    f = pos - i
    a, b = _hex(stops[i]), _hex(stops[i + 1])
    r, g, bl = (round(a[k] + (b[k] - a[k]) * f) for k in range(3))
    return f"#{r:02x}{g:02x}{bl:02x}"


def sequential(t: float) -> str:
    """Viridis colour for t in [0, 1]."""
    return _interp(VIRIDIS, t)


def diverging(t: float) -> str:
    """PuOr colour for t in [-1, 1] (0 is neutral)."""
    return _interp(DIVERGING, (t + 1.0) / 2.0)


def text_on(t: float) -> str:
    """Black or white text that stays readable on ``sequential(t)``."""
    return "#000" if t > 0.55 else "#fff"
