"""Split a dataset into mining / importance / evaluation slices that never overlap.

A seeded shuffle of the row indices is cut by ``mining_fraction`` and ``importance_fraction``;
the evaluation slice is the rest. With ``allow_overlap`` every slice is the whole dataset (for
tiny data where a split would leave nothing to evaluate).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

SLICE_NAMES = ("mining", "importance", "eval")


def split_indices(n: int, *, mining_fraction: float, importance_fraction: float, seed: int,
                  allow_overlap: bool = False) -> dict[str, list[int]]:
    """Row indices of each slice; disjoint and covering ``range(n)`` unless ``allow_overlap``."""
    if allow_overlap:
        return {name: list(range(n)) for name in SLICE_NAMES}
    order = list(range(n))
    random.Random(seed).shuffle(order)
    n_mine = int(round(n * mining_fraction))
    n_imp = int(round(n * importance_fraction))
    return {
        "mining": sorted(order[:n_mine]),
        "importance": sorted(order[n_mine:n_mine + n_imp]),
        "eval": sorted(order[n_mine + n_imp:]),
    }


def take(rows: Sequence[T], indices: Sequence[int]) -> list[T]:
    return [rows[i] for i in indices]
