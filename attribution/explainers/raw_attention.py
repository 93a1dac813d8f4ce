"""Raw attention: the last layer's [CLS] query row, averaged over heads.

The common baseline discussed by Jain and Wallace 2019 (https://arxiv.org/abs/1902.10186)
and Wiegreffe and Pinter 2019 (https://arxiv.org/abs/1908.04626). Ignores the target class.
"""

from __future__ import annotations

import torch

from attribution.explainers.base import Explainer
from attribution.intervention import AttentionIntervention


class RawAttention(Explainer):
    name = "attention"

    def __init__(self, loaded) -> None:
        super().__init__(loaded)
        self.intervention = AttentionIntervention(loaded.model)

    @torch.no_grad()
    def token_scores(self, enc, target: int, *, example=None) -> torch.Tensor:
        with self.intervention.capture() as cap:
            self.model(**enc)
        return cap.probs[-1][0].float().mean(0)[0].cpu()  # (H, T, T) -> (T,)
