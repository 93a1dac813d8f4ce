"""The per-example result of AttAttr and its JSON form."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from torch import Tensor


@dataclass
class AttributionResult:
    """Self-attention attribution of one example.

    ``scores[l, h, i, j]`` is Attr_h(A_l)[i, j] (zero for layers not requested) with padding
    removed; ``steps`` is the most nodes any layer used (``nodes`` per layer); ``completeness_gap[l]`` = sum(scores[l]) - (F(A) - F(0)) (NaN when not requested);
    ``path_delta[l]`` = F(A) - F(0) with layer ``l`` zeroed.
    """

    tokens: list[str]
    prediction: int
    probabilities: list[float]
    target: int
    scores: Tensor  # (L, H, T, T) float32 cpu
    completeness_gap: list[float]
    method: str
    steps: int
    output: str = "probability"
    layers: list[int] = field(default_factory=list)
    path_delta: list[float] = field(default_factory=list)
    nodes: list[int] = field(default_factory=list)  # quadrature nodes used per layer (0: not run)
    gap_tolerance: float | None = None  # relative gap tolerance of the adaptive rule, else None

    def to_json(self) -> dict:
        """A JSON-ready dict: tokens, prediction, probabilities, target, scores (L x H x T x T),
        completeness_gap (one per layer; null for layers not computed), method, steps, output,
        layers."""

        def num(x: float) -> float | None:
            return None if math.isnan(x) else float(x)

        return {
            "tokens": list(self.tokens),
            "prediction": int(self.prediction),
            "probabilities": [float(p) for p in self.probabilities],
            "target": int(self.target),
            "scores": self.scores.tolist(),
            "completeness_gap": [num(g) for g in self.completeness_gap],
            "path_delta": [num(d) for d in self.path_delta],
            "method": self.method,
            "steps": int(self.steps),
            "output": self.output,
            "layers": list(self.layers),
            "nodes": list(self.nodes),
            "gap_tolerance": self.gap_tolerance,
        }
