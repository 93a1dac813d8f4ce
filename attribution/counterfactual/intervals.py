"""Confidence intervals for the counterfactual tests' rates.

``paired_difference`` is Newcombe's hybrid-score interval for the difference of two paired
proportions (Newcombe 1998, "Improved confidence intervals for the difference between binomial
proportions based on paired data", Statistics in Medicine 17:2635-2650, method 10), built from
two Wilson score intervals and the (continuity-corrected) phi correlation of the 2x2 table. It never leaves [-1, 1] and
stays informative when no pair disagrees (where the Wald interval collapses to a point).
"""

from __future__ import annotations

from collections.abc import Sequence

from common.intervals import Z95, newcombe_paired, wilson

__all__ = ["Z95", "paired_difference", "wilson"]


def paired_difference(first: Sequence[bool], second: Sequence[bool],
                      z: float = Z95) -> tuple[float, float, float]:
    """Difference ``mean(first) - mean(second)`` of paired 0/1 outcomes with its 95% interval.

    Returns ``(difference, low, high)``. ``first`` and ``second`` are per-example outcomes
    (e.g. correct with the model's attention, correct with uniform attention).
    """
    if len(first) != len(second):
        raise ValueError("paired outcomes of different lengths")
    pairs = list(zip(first, second, strict=True))
    a = sum(1 for x, y in pairs if x and y)
    b = sum(1 for x, y in pairs if x and not y)
    c = sum(1 for x, y in pairs if not x and y)
    return newcombe_paired(a, b, c, len(pairs) - a - b - c, z, continuity_corrected_phi=True)
