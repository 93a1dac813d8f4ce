"""Confidence intervals for the counterfactual tests' rates.

``paired_difference`` is Newcombe's hybrid-score interval for the difference of two paired
proportions (Newcombe 1998, "Improved confidence intervals for the difference between binomial
proportions based on paired data", Statistics in Medicine 17:2635-2650, method 10), built from
two Wilson score intervals and the (continuity-corrected) phi correlation of the 2x2 table. It never leaves [-1, 1] and
stays informative when no pair disagrees (where the Wald interval collapses to a point).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion (``(nan, nan)`` when n = 0)."""
    if n <= 0:
        return (float("nan"), float("nan"))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def paired_difference(first: Sequence[bool], second: Sequence[bool],
                      z: float = Z95) -> tuple[float, float, float]:
    """Difference ``mean(first) - mean(second)`` of paired 0/1 outcomes with its 95% interval.

    Returns ``(difference, low, high)``. ``first`` and ``second`` are per-example outcomes
    (e.g. correct with the model's attention, correct with uniform attention).
    """
    if len(first) != len(second):
        raise ValueError("paired outcomes of different lengths")
    n = len(first)
    if n == 0:
        return (float("nan"), float("nan"), float("nan"))
    a = sum(1 for x, y in zip(first, second, strict=True) if x and y)
    b = sum(1 for x, y in zip(first, second, strict=True) if x and not y)
    c = sum(1 for x, y in zip(first, second, strict=True) if not x and y)
    d = n - a - b - c
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n, z)
    l2, u2 = wilson(a + c, n, z)
    denom = (a + b) * (c + d) * (a + c) * (b + d)
    # phi with Newcombe's continuity correction (as in Altman et al. 2000, "Statistics with
    # Confidence", p. 52): AD - BC shrunk by n/2 towards 0 when positive, used as is when negative
    cross = a * d - b * c
    cross = cross - n / 2 if cross > n / 2 else (cross if cross < 0 else 0.0)
    phi = cross / math.sqrt(denom) if denom > 0 else 0.0
    diff = p1 - p2
    delta = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    eps = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return (diff, max(-1.0, diff - delta), min(1.0, diff + eps))
