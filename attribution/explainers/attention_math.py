"""Pure tensor math shared by the attention-based explainers (no model needed)."""

from __future__ import annotations

import torch


def rollout(attn: torch.Tensor, *, residual: float = 0.5) -> torch.Tensor:
    """Attention rollout (Abnar and Zuidema 2020, https://arxiv.org/abs/2005.00928).

    ``attn`` (L, H, T, T): per layer ``A_hat = residual * I + (1 - residual) * mean_h A``,
    rows renormalised, then ``R = A_hat_L @ ... @ A_hat_1`` (T, T). Row i of R is how much
    token i at the top draws on each input token.
    """
    num_layers, _, seq, _ = attn.shape
    eye = torch.eye(seq, dtype=torch.float64)
    out = eye.clone()
    for layer in range(num_layers):
        a = attn[layer].double().mean(0)  # (T, T)
        a_hat = (1.0 - residual) * a + residual * eye
        a_hat = a_hat / a_hat.sum(-1, keepdim=True)
        out = a_hat @ out  # later layers on the left
    return out.float()


def gradient_weighted_relevance(attn: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    """Generic attention explainability (Chefer et al. ICCV 2021, https://arxiv.org/abs/2103.15679).

    ``attn``, ``grads`` (L, H, T, T): ``R = I``; for each layer from the input upwards
    ``Abar = mean_h((grad * A)^+)`` and ``R = R + Abar @ R``. Returns R (T, T).
    """
    seq = attn.shape[-1]
    rel = torch.eye(seq, dtype=torch.float64)
    for layer in range(attn.shape[0]):
        abar = (grads[layer].double() * attn[layer].double()).clamp(min=0).mean(0)  # (T, T)
        rel = rel + abar @ rel
    return rel.float()
