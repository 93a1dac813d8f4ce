"""95% intervals for rates: the Wilson score interval for a binomial proportion.

Wilson, "Probable inference, the law of succession, and statistical inference", JASA 1927.
Used for every accuracy and drop reported by the probing and hardening code, so a rate always
travels with its n and interval.
"""

from __future__ import annotations

import math

from common import intervals
from common.intervals import Z95


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval (low, high) for ``successes`` out of ``n``; (0, 1) when n == 0."""
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"wilson: need 0 <= successes <= n, got {successes}/{n}")
    if n == 0:
        return 0.0, 1.0
    return intervals.wilson(successes, n, z)


def rate(successes: int, n: int) -> dict[str, float | int | None]:
    """``{"value", "n", "low", "high"}`` for a rate (value None when n == 0)."""
    low, high = wilson(successes, n)
    return {"value": None if n == 0 else round(successes / n, 4), "n": n,
            "low": round(low, 4), "high": round(high, 4)}


def difference_interval(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> tuple[float, float]:
    """Newcombe's hybrid score interval (method 10, Stat. Med. 1998) for p1 - p2 from two
    independent Wilson intervals. Departure: used for the paired clean/triggered accuracies of
    one example set too, where it is conservative (it ignores the positive correlation)."""
    p1 = k1 / n1 if n1 else 0.0
    p2 = k2 / n2 if n2 else 0.0
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, low), min(1.0, high)
