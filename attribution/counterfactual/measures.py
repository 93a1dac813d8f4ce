"""Distances and masks shared by the counterfactual attention tests.

* Total-variation distance of two class distributions, TVD(p, q) = 1/2 sum |p - q| (the output
  change of Jain and Wallace 2019, https://arxiv.org/abs/1902.10186, Section 4).
* Jensen-Shannon divergence of two attention rows, natural log, so it lies in [0, ln 2]
  (the distance between attention maps of the same paper, Section 4.2).
* Real-token masks: which keys / queries of a padded batch are real tokens (padding is never
  permuted, optimised or made uniform).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

LN2 = math.log(2.0)


def tvd(p: Tensor, q: Tensor) -> Tensor:
    """Total-variation distance over the last axis: (..., C), (..., C) -> (...)."""
    return 0.5 * (p - q).abs().sum(-1)


def jsd(p: Tensor, q: Tensor, eps: float = 1e-12) -> Tensor:
    """Jensen-Shannon divergence (natural log, in [0, ln 2]) over the last axis.

    Zero entries contribute 0 (0 log 0 = 0); ``eps`` only guards the logarithm.
    """
    m = 0.5 * (p + q)

    def kl(a: Tensor) -> Tensor:
        return torch.where(a > 0, a * (torch.log(a.clamp_min(eps)) - torch.log(m.clamp_min(eps))),
                           torch.zeros_like(a)).sum(-1)

    return (0.5 * kl(p) + 0.5 * kl(q)).clamp_min(0.0)


def real_keys(attention_mask: Tensor) -> Tensor:
    """(B, T) 0/1 attention mask -> (B, 1, 1, T) bool: key j of row b is a real token."""
    return attention_mask.bool()[:, None, None, :]


def real_queries(attention_mask: Tensor) -> Tensor:
    """(B, T) 0/1 attention mask -> (B, 1, T, 1) bool: query i of row b is a real token."""
    return attention_mask.bool()[:, None, :, None]


def uniform_rows(attention_mask: Tensor, like: Tensor) -> Tensor:
    """Attention uniform over the real keys of each row, shaped and typed like ``like`` (B, H, T, T)."""
    keys = real_keys(attention_mask).to(like.dtype)  # (B, 1, 1, T)
    return (keys / keys.sum(-1, keepdim=True)).expand_as(like)


def output_rows(attention_mask: Tensor, last_layer: bool) -> Tensor:
    """(B, T) mask -> (B, 1, T, 1) bool: the query rows whose attention can reach the output.

    Every real row in a lower layer; in the last layer only position 0, the one row the
    classifier reads (BERT/ELECTRA/RoBERTa heads and DistilBERT's pre-classifier all take the
    first token's state), so the other rows of the last layer cannot change the prediction.
    """
    rows = real_queries(attention_mask)
    if last_layer:
        first = torch.zeros_like(rows)
        first[:, :, 0] = True
        rows = rows & first
    return rows


def row_max(probs: Tensor, attention_mask: Tensor, last_layer: bool = False) -> Tensor:
    """Mean over output rows of each row's largest weight: (B, H, T, T) -> (B, H).

    The transformer analogue of the "maximum attention weight" on the x axis of Jain and
    Wallace's permutation figure (an LSTM has one attention row per example; a head has T);
    rows are those of ``output_rows`` (only [CLS] in the last layer).
    """
    q = output_rows(attention_mask, last_layer).to(probs.dtype)[..., 0]  # (B, 1, T)
    peak = probs.max(-1).values  # (B, H, T)
    return (peak * q).sum(-1) / q.sum(-1)
