"""Input-gradient explainers on the word embeddings: gradient x input and integrated gradients.

- ``grad_input``: ``e_t . d p_y / d e_t`` per token, i.e. the gradient with respect to the
  one-hot input evaluated at the token present, the gradient importance Jain and Wallace 2019
  compare attention with (https://arxiv.org/abs/1902.10186).
- ``integrated_gradients``: Sundararajan et al. 2017 (https://arxiv.org/abs/1703.01365) on the
  word embeddings (positions and segments untouched). Baseline: every non-special token's
  embedding replaced by the [PAD] embedding ([CLS]/[SEP] kept). The path integral uses
  Gauss-Legendre nodes on [0, 1] (``steps`` nodes, default 16) instead of the paper's Riemann
  sum; scores sum to p_y(x) - p_y(baseline) up to quadrature error (completeness).
Both differentiate the target class *probability* (softmax), like the AttAttr engine.
"""

from __future__ import annotations

import numpy as np
import torch

from attribution.explainers.base import Explainer


def _embed_inputs(model, enc) -> tuple[torch.Tensor, dict]:
    emb = model.get_input_embeddings()(enc["input_ids"]).detach()  # (1, T, D)
    rest = {k: v for k, v in enc.items() if k != "input_ids"}
    return emb, rest


def _target_prob(model, embeds: torch.Tensor, rest: dict, target: int) -> torch.Tensor:
    batch = embeds.shape[0]
    kw = {k: v.expand(batch, -1) for k, v in rest.items()}
    logits = model(inputs_embeds=embeds, **kw).logits.float()  # (B, C)
    return torch.softmax(logits, -1)[:, target]


class GradientTimesInput(Explainer):
    name = "grad_input"

    def token_scores(self, enc, target: int, *, example=None) -> torch.Tensor:
        emb, rest = _embed_inputs(self.model, enc)
        emb.requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(_target_prob(self.model, emb, rest, target).sum(), emb)
        return (grad * emb).sum(-1)[0].detach().cpu()  # (T,)


class IntegratedGradients(Explainer):
    name = "integrated_gradients"

    def __init__(self, loaded, *, steps: int = 16, batch_size: int = 16) -> None:
        super().__init__(loaded)
        self.steps, self.batch_size = steps, batch_size

    def baseline(self, enc) -> torch.Tensor:
        ids = enc["input_ids"].clone()  # (1, T)
        special = torch.tensor([t in set(self.tokenizer.all_special_ids) for t in ids[0].tolist()])
        ids[0, ~special] = self.tokenizer.pad_token_id
        return self.model.get_input_embeddings()(ids).detach()  # (1, T, D)

    def token_scores(self, enc, target: int, *, example=None) -> torch.Tensor:
        emb, rest = _embed_inputs(self.model, enc)
        base = self.baseline(enc)
        nodes, weights = np.polynomial.legendre.leggauss(self.steps)
        alphas = torch.tensor((nodes + 1) / 2, dtype=emb.dtype, device=emb.device)  # (S,)
        w = torch.tensor(weights / 2, dtype=torch.float64)
        total = torch.zeros_like(emb[0], dtype=torch.float64)  # (T, D)
        for start in range(0, self.steps, self.batch_size):
            a = alphas[start:start + self.batch_size]
            path = (base + a[:, None, None] * (emb - base)).requires_grad_(True)  # (s, T, D)
            with torch.enable_grad():
                (grad,) = torch.autograd.grad(_target_prob(self.model, path, rest, target).sum(), path)
            total += (grad.double().cpu() * w[start:start + len(a), None, None]).sum(0).to(total.device)
        return ((emb - base)[0].double() * total).sum(-1).float().cpu()  # (T,)
