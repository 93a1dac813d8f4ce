"""Attention rollout (Abnar and Zuidema 2020, https://arxiv.org/abs/2005.00928).

Per layer ``0.5 * mean_h A + 0.5 * I``, rows renormalised, multiplied across layers; the
token scores are the [CLS] row of the product. Ignores the target class.
"""

from __future__ import annotations

import torch

from attribution.explainers.attention_math import rollout
from attribution.explainers.base import Explainer
from attribution.intervention import AttentionIntervention


class AttentionRollout(Explainer):
    name = "rollout"

    def __init__(self, loaded) -> None:
        super().__init__(loaded)
        self.intervention = AttentionIntervention(loaded.model)

    @torch.no_grad()
    def token_scores(self, enc, target: int, *, example=None) -> torch.Tensor:
        with self.intervention.capture() as cap:
            self.model(**enc)
        attn = torch.stack([p[0] for p in cap.probs]).float().cpu()  # (L, H, T, T)
        return rollout(attn)[0]
