"""95% confidence intervals for the rates and paired accuracy drops the audit reports.

* ``wilson``: Wilson score interval for a binomial proportion (Wilson, JASA 1927).
* ``paired_difference``: interval for p1 - p2 of two proportions measured on the SAME examples
  (clean vs triggered accuracy), Newcombe's hybrid score method 10 (Newcombe, "Improved
  confidence intervals for the difference between binomial proportions based on paired data",
  Statistics in Medicine 17, 1998): Wilson intervals of both margins combined with the
  phi correlation of the 2x2 table. No continuity correction.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of ``successes / n`` (``(nan, nan)`` for n = 0)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def paired_difference(both: int, only_first: int, only_second: int, neither: int,
                      z: float = Z95) -> tuple[float, tuple[float, float]]:
    """Difference p1 - p2 and its Newcombe (method 10) interval from a paired 2x2 table.

    Args: counts of examples right under both conditions, only the first (clean), only the
    second (triggered), neither. Returns (difference, (low, high)); NaNs for an empty table.
    """
    a, b, c, d = both, only_first, only_second, neither
    n = a + b + c + d
    if n == 0:
        return math.nan, (math.nan, math.nan)
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n, z)
    l2, u2 = wilson(a + c, n, z)
    den = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(den) if den > 0 else 0.0
    diff = p1 - p2
    lo = diff - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    hi = diff + math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return diff, (max(-1.0, lo), min(1.0, hi))
