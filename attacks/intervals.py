"""95% confidence intervals for the rates and paired accuracy drops the audit reports.

* ``wilson``: Wilson score interval for a binomial proportion (Wilson, JASA 1927).
* ``paired_difference``: interval for p1 - p2 of two proportions measured on the SAME examples
  (clean vs triggered accuracy), Newcombe's hybrid score method 10 (Newcombe, "Improved
  confidence intervals for the difference between binomial proportions based on paired data",
  Statistics in Medicine 17, 1998): Wilson intervals of both margins combined with the
  phi correlation of the 2x2 table. No continuity correction.
"""

from __future__ import annotations

from common.intervals import Z95, newcombe_paired, wilson

__all__ = ["Z95", "paired_difference", "wilson"]


def paired_difference(both: int, only_first: int, only_second: int, neither: int,
                      z: float = Z95) -> tuple[float, tuple[float, float]]:
    """Difference p1 - p2 and its Newcombe (method 10) interval from a paired 2x2 table.

    Args: counts of examples right under both conditions, only the first (clean), only the
    second (triggered), neither. Returns (difference, (low, high)); NaNs for an empty table.
    """
    diff, low, high = newcombe_paired(both, only_first, only_second, neither, z)
    return diff, (low, high)
