"""Memory-budgeted chunks of (example, alpha) rows for AttAttr, and the scaled attention they carry.

Batching slices the global list of (example, node) rows, so how rows are chunked never changes
which nodes or weights are used (Captum ``_utils/batching.py`` does the same for its steps).
Rows are sorted by example length and a chunk pads only to its longest example, never to a
fixed length; a chunk's longest example is at most ~10% longer than its shortest.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor

PAD_SLACK = 1.1  # a chunk's longest example is at most ~10% longer than its shortest


class CachedExample:
    """Plain-forward results of one example: layer inputs and attention, padding removed."""

    def __init__(self, tokens: list[str], logits: Tensor, hidden: list[Tensor], attn: list[Tensor]):
        self.tokens = tokens
        self.logits = logits  # (C,)
        self.hidden = hidden  # per layer (T, D): the input of that layer
        self.attn = attn  # per layer (H, T, T)
        self.length = len(tokens)


def row_bytes(T: int, layer: int, *, num_layers: int, num_heads: int, hidden: int,
              inner: int, checkpointed: bool = False) -> int:
    """Bytes of float32 activations one row of length T keeps for the backward from ``layer``;
    ``checkpointed``: only the layer inputs plus one layer's activations at a time."""
    inner = inner or 4 * hidden
    per_layer = T * (12 * hidden + 3 * inner) + 5 * num_heads * T * T  # kept for backward
    if checkpointed:
        return 4 * ((num_layers - layer) * T * hidden + 2 * per_layer + 3 * num_heads * T * T)
    return 4 * ((num_layers - layer) * per_layer + 3 * num_heads * T * T)


def cache_bytes(T: int, *, num_layers: int, num_heads: int, hidden: int) -> int:
    """Bytes of the plain-forward cache of one example of length T (layer inputs + attention)."""
    return 12 * num_layers * (T * hidden + num_heads * T * T)


def chunks(rows: Sequence[tuple[int, int]], lengths: Sequence[int], cost, budget: float
           ) -> Iterator[list[tuple[int, int]]]:
    """Consecutive slices of ``rows`` ((example, node) pairs sorted by the example's length)
    whose padded memory ``len(slice) * cost(T_max)`` stays within ``budget`` bytes (at least one
    row each) and whose lengths differ by at most ~10%, so padding wastes little."""
    start = 0
    while start < len(rows):
        end, T = start, 0
        shortest = lengths[rows[start][0]]
        while end < len(rows):
            T_new = max(T, lengths[rows[end][0]])
            if end > start and ((end + 1 - start) * cost(T_new) > budget
                                or T_new > PAD_SLACK * shortest + 1):
                break
            T, end = T_new, end + 1
        yield list(rows[start:end])
        start = end


def scaled_attention(layer: int, items: list[CachedExample], alphas: Tensor, num_heads: int,
                     device) -> Tensor:
    """alpha_r * A_l of every row, zero-padded to the chunk's longest example: (R, H, T, T)."""
    T = max(c.length for c in items)
    out = torch.zeros(len(items), num_heads, T, T, device=device)  # (R, H, T, T)
    for r, c in enumerate(items):
        out[r, :, : c.length, : c.length] = c.attn[layer] * float(alphas[r])
    return out
