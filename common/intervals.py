"""The one implementation of the 95% intervals attaudit reports (torch-free).

* ``wilson``: Wilson score interval for a binomial proportion (Wilson, JASA 1927).
* ``newcombe_paired``: interval for p1 - p2 of two proportions measured on the SAME examples,
  Newcombe's hybrid score method 10 (Statistics in Medicine 17, 1998): the Wilson intervals of
  both margins combined with the phi correlation of the 2x2 table, optionally with Newcombe's
  continuity correction of phi (Altman et al. 2000, "Statistics with Confidence", p. 52).

The libraries' own helpers (``attacks.intervals``, ``attribution.intervals``,
``attribution.counterfactual.intervals``, ``pipeline.intervals``) are thin adapters over these
for their return conventions.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval (low, high) of ``successes / n``; ``(nan, nan)`` for n <= 0."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe_paired(both: int, only_first: int, only_second: int, neither: int, z: float = Z95,
                    *, continuity_corrected_phi: bool = False) -> tuple[float, float, float]:
    """(p1 - p2, low, high) from a paired 2x2 table; NaNs for an empty table.

    Args: counts of examples right under both conditions, only the first, only the second,
    neither.
    """
    a, b, c, d = both, only_first, only_second, neither
    n = a + b + c + d
    if n == 0:
        return (math.nan, math.nan, math.nan)
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n, z)
    l2, u2 = wilson(a + c, n, z)
    den = (a + b) * (c + d) * (a + c) * (b + d)
    cross = a * d - b * c
    if continuity_corrected_phi:  # AD - BC shrunk by n/2 towards 0 when positive
        cross = cross - n / 2 if cross > n / 2 else (cross if cross < 0 else 0.0)
    phi = cross / math.sqrt(den) if den > 0 else 0.0
    diff = p1 - p2
    lo = diff - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    hi = diff + math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return (diff, max(-1.0, lo), min(1.0, hi))
