"""Attention rollout (Abnar and Zuidema 2020, https://arxiv.org/abs/2005.00928).

Per layer ``0.5 * mean_h A + 0.5 * I``, rows renormalised, multiplied across layers; the
token scores are the [CLS] row of the product. Ignores the target class.
"""

from __future__ import annotations

import torch

from attribution.explainers.attention_math import rollout
from attribution.explainers.base import AttentionMapExplainer


class AttentionRollout(AttentionMapExplainer):
    name = "rollout"

    def token_scores(self, enc, target: int, *, example=None) -> torch.Tensor:
        return rollout(self.attention(enc))[0]
