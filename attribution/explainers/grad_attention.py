"""Gradient-weighted attention relevance (Chefer et al. ICCV 2021, "Generic Attention-model
Explainability for Interpreting Bi-Modal and Encoder-Decoder Transformers",
https://arxiv.org/abs/2103.15679), self-attention case.

``R = I``; for each layer from the input up ``R += mean_h((dy_t/dA * A)^+) @ R``; the token
scores are R's [CLS] row. ``y_t`` is the target class *logit* (as in the authors' code).
"""

from __future__ import annotations

import torch

from attribution.explainers.attention_grads import attention_and_gradients
from attribution.explainers.attention_math import gradient_weighted_relevance
from attribution.explainers.base import Explainer
from attribution.intervention import AttentionIntervention


class GradientWeightedAttention(Explainer):
    name = "grad_attention"

    def __init__(self, loaded) -> None:
        super().__init__(loaded)
        self.intervention = AttentionIntervention(loaded.model)

    def token_scores(self, enc, target: int, *, example=None) -> torch.Tensor:
        attn, grads = attention_and_gradients(self.intervention, self.model, enc, target)
        return gradient_weighted_relevance(attn, grads)[0]
