"""Attention probabilities of every layer and their gradients for one example and target."""

from __future__ import annotations

import torch

from attribution.intervention import AttentionIntervention


def attention_and_gradients(intervention: AttentionIntervention, model, enc, target: int,
                            *, output: str = "logit") -> tuple[torch.Tensor, torch.Tensor]:
    """(attn, grads), each (L, H, T, T) for batch item 0; gradient of the target logit
    (``output="logit"``, as Chefer et al.) or probability (``"probability"``)."""
    with torch.enable_grad(), intervention.capture() as cap:
        logits = model(**enc).logits.float()  # (1, C)
        value = logits if output == "logit" else torch.softmax(logits, -1)
        probs = list(cap.probs)
        grads = torch.autograd.grad(value[0, target], probs)
    attn = torch.stack([p[0].detach() for p in probs]).float().cpu()  # (L, H, T, T)
    return attn, torch.stack([g[0] for g in grads]).float().cpu()
