"""Pruning robustness: accuracy as heads are masked progressively by an importance ordering.

Hao et al. AAAI 2021, section 4.1 and Figure 2 (https://arxiv.org/abs/2004.11207); Michel et
al. 2019 (https://arxiv.org/abs/1905.10650). Two schedules:

- ``global``: 0%, 10%, ..., 100% of all L*H heads pruned, ranked over the whole model;
- ``per_layer``: k = 0..H heads pruned in every layer (the paper's Figure 2), ranked within
  each layer;

each ``least``-important first (a good ordering keeps accuracy high) and ``most``-important
first (a good ordering makes it drop fast). Ties are broken by head index (stable sort).
Masks that several curves share (0%, 100%, ...) are evaluated once; many masks share one
forward pass (see ``head_masking``). Accuracy is on the evaluation slice the caller passes,
which should be disjoint from the slice the importance was computed on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import torch

from attribution.data import Example
from attribution.errors import AttributionInputError
from attribution.head_masking import MaskedEvaluator
from attribution.model_loading import LoadedClassifier

SCHEDULES = ("global", "per_layer")
DIRECTIONS = ("least", "most")
GLOBAL_FRACTIONS = tuple(i / 10 for i in range(11))


def global_masks(scores: torch.Tensor, fractions: Sequence[float], direction: str) -> torch.Tensor:
    """(len(fractions), L, H) masks pruning round(f * L*H) heads by global rank."""
    flat = scores.flatten()
    order = torch.argsort(flat, descending=direction == "most", stable=True)
    out = torch.ones(len(fractions), flat.numel())
    for i, f in enumerate(fractions):
        out[i, order[: round(f * flat.numel())]] = 0.0
    return out.view(len(fractions), *scores.shape)


def per_layer_masks(scores: torch.Tensor, direction: str) -> torch.Tensor:
    """(H + 1, L, H) masks pruning k = 0..H heads in every layer by within-layer rank."""
    num_layers, num_heads = scores.shape
    order = torch.argsort(scores, dim=1, descending=direction == "most", stable=True)  # (L, H)
    out = torch.ones(num_heads + 1, num_layers, num_heads)
    for k in range(num_heads + 1):
        for layer in range(num_layers):
            out[k, layer, order[layer, :k]] = 0.0
    return out


@dataclass
class PruningCurve:
    ordering: str
    schedule: str
    direction: str
    x: list[float]  # fraction of heads pruned (global) or heads pruned per layer (per_layer)
    heads_pruned: list[int]
    accuracy: list[float]

    def at(self, x: float) -> float:
        """Accuracy at the point whose x is closest to ``x``."""
        i = min(range(len(self.x)), key=lambda j: abs(self.x[j] - x))
        return self.accuracy[i]


@dataclass
class PruningReport:
    num_examples: int
    num_layers: int
    num_heads: int
    full_accuracy: float
    curves: list[PruningCurve]

    def curve(self, ordering: str, schedule: str, direction: str) -> PruningCurve:
        for c in self.curves:
            if (c.ordering, c.schedule, c.direction) == (ordering, schedule, direction):
                return c
        raise KeyError((ordering, schedule, direction))

    def to_json(self) -> dict:
        return asdict(self)


class PruningRobustness:
    """Evaluate pruning curves for one or more head orderings."""

    def __init__(self, loaded: LoadedClassifier) -> None:
        self.evaluator = MaskedEvaluator(loaded)

    def curves(
        self,
        importance: Mapping[str, torch.Tensor],
        examples: Sequence[Example],
        *,
        schedules: Sequence[str] = SCHEDULES,
        directions: Sequence[str] = DIRECTIONS,
        fractions: Sequence[float] = GLOBAL_FRACTIONS,
        max_rows: int = 256,
        progress: Callable[[float], None] | None = None,
    ) -> PruningReport:
        for value, valid, what in ((schedules, SCHEDULES, "schedule"), (directions, DIRECTIONS, "direction")):
            bad = [v for v in value if v not in valid]
            if bad:
                raise AttributionInputError(f"unknown {what}(s) {bad}; valid: {', '.join(valid)}")
        if any(not 0 <= f <= 1 for f in fractions):
            raise AttributionInputError("fractions must lie in [0, 1]")
        shape = (self.evaluator.num_layers, self.evaluator.num_heads)
        specs: list[tuple[str, str, str, list[float], torch.Tensor]] = []
        for name, scores in importance.items():
            if tuple(scores.shape) != shape:
                raise AttributionInputError(f"{name}: scores {tuple(scores.shape)} but model has {shape}")
            for direction in directions:
                if "global" in schedules:
                    specs.append((name, "global", direction, list(fractions),
                                  global_masks(scores.float(), fractions, direction)))
                if "per_layer" in schedules:
                    specs.append((name, "per_layer", direction, [float(k) for k in range(shape[1] + 1)],
                                  per_layer_masks(scores.float(), direction)))
        unique: dict[bytes, int] = {}
        rows = [torch.ones(*shape)]
        unique[rows[0].numpy().tobytes()] = 0
        for *_, masks in specs:
            for m in masks:
                key = m.numpy().tobytes()
                if key not in unique:
                    unique[key] = len(rows)
                    rows.append(m)
        acc = self.evaluator.accuracy(examples, torch.stack(rows), max_rows=max_rows, progress=progress)
        curves = [
            PruningCurve(name, sched, direction, xs, [int((m == 0).sum()) for m in masks],
                         [float(acc[unique[m.numpy().tobytes()]]) for m in masks])
            for name, sched, direction, xs, masks in specs
        ]
        return PruningReport(len(examples), *shape, float(acc[0]), curves)
