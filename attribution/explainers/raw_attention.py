"""Raw attention: the last layer's [CLS] query row, averaged over heads.

The common baseline discussed by Jain and Wallace 2019 (https://arxiv.org/abs/1902.10186)
and Wiegreffe and Pinter 2019 (https://arxiv.org/abs/1908.04626). Ignores the target class.
"""

from __future__ import annotations

import torch

from attribution.explainers.base import AttentionMapExplainer


class RawAttention(AttentionMapExplainer):
    name = "attention"

    def token_scores(self, enc, target: int, *, example=None) -> torch.Tensor:
        return self.attention(enc)[-1].mean(0)[0]  # (H, T, T) -> (T,)
