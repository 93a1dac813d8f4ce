"""Token scores derived from self-attention attribution (Hao et al. AAAI 2021,
https://arxiv.org/abs/2004.11207).

The paper attributes attention *edges*, not tokens. Our token score for key token j is the
total attribution of every edge that reads from j: ``sum_{l, h, i} Attr_h(A^l)[i, j]`` (signed),
using the engine's ``AttentionAttribution`` for the target class probability. By per-layer
completeness these scores sum to ``sum_l (F(A^l) - F(0))`` up to quadrature error.
"""

from __future__ import annotations

import torch

from attribution.errors import AttributionInputError
from attribution.explainers.base import Explainer


class AttAttrTokens(Explainer):
    name = "attattr"

    def __init__(self, loaded, *, steps: int | None = None, method: str = "gausslegendre") -> None:
        super().__init__(loaded)
        from attribution.attention_attribution import AttentionAttribution

        self.engine = AttentionAttribution(loaded)
        self.steps, self.method = steps, method

    def token_scores(self, enc, target: int, *, example=None) -> torch.Tensor:
        if example is None:
            raise AttributionInputError("attattr token scores need the example itself")
        kw = {"steps": self.steps} if self.steps is not None else {}
        (result,) = self.engine.attribute([example], target=[target], method=self.method, **kw)
        scores = result.scores  # (L, H, T, T)
        if scores.shape[-1] != enc["input_ids"].shape[1]:
            raise AttributionInputError("attribution tokens do not match the encoding")
        return scores.float().sum(dim=(0, 1, 2))  # (T,) summed over layers, heads, query rows
