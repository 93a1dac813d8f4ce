"""Wilson and Newcombe paired intervals: known values and simulated coverage."""

import math
import random

import pytest

from attacks.intervals import paired_difference, wilson


def test_wilson_known_values():
    lo, hi = wilson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(3.8415 / 13.8415, abs=1e-4)  # z^2 / (n + z^2)
    lo, hi = wilson(5, 10)
    assert (lo, hi) == pytest.approx((0.2366, 0.7634), abs=1e-4)  # the textbook 5/10 interval
    assert all(math.isnan(x) for x in wilson(0, 0))


def test_paired_difference_basic():
    diff, (lo, hi) = paired_difference(0, 80, 0, 0)  # every correct example flipped
    assert diff == 1.0 and hi == 1.0 and 0.9 < lo < 1.0
    diff, (lo, hi) = paired_difference(40, 0, 0, 10)  # nothing changed
    assert diff == 0.0 and lo < 0 < hi
    diff, (lo, hi) = paired_difference(30, 6, 2, 12)
    assert diff == pytest.approx(4 / 50) and lo < diff < hi


def test_paired_difference_coverage_by_simulation():
    """Correlated pairs: clean right w.p. 0.8; the trigger flips a right answer w.p. 0.3."""
    rng = random.Random(0)
    n, truth, hits, reps = 60, 0.8 * 0.3, 0, 1500
    for _ in range(reps):
        a = b = c = d = 0
        for _ in range(n):
            ok0 = rng.random() < 0.8
            ok1 = ok0 and rng.random() >= 0.3
            a += ok0 and ok1
            b += ok0 and not ok1
            c += ok1 and not ok0
            d += not ok0 and not ok1
        _, (lo, hi) = paired_difference(a, b, c, d)
        hits += lo <= truth <= hi
    assert 0.925 <= hits / reps <= 0.975
