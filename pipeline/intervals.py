"""95% confidence intervals for the rates and means the report shows next to their sample size.

- A rate k/n (attack success, accuracy): the Wilson score interval (Wilson 1927; Brown, Cai and
  DasGupta 2001 recommend it over the normal interval for small n and rates near 0 or 1).
- A mean over examples (AOPC): mean +- t(0.975, n-1) * sd / sqrt(n), Student's t over examples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from common import intervals
from common.intervals import Z95

FEW_EXAMPLES = 30  # below this the report warns that a figure rests on few examples


def wilson(k: int, n: int, z: float = Z95) -> list[float] | None:
    """Wilson score interval [low, high] for k successes of n (None when n == 0)."""
    return None if n <= 0 else list(intervals.wilson(k, n, z))


def mean_interval(values: Sequence[float]) -> list[float] | None:
    """Student-t 95% interval [low, high] of the mean of ``values`` (None for fewer than two)."""
    n = len(values)
    if n < 2:
        return None
    from scipy.stats import t

    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return [mean - half, mean + half]
