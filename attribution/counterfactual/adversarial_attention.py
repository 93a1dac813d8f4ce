"""Adversarial attention search (Jain and Wallace 2019): maximally different, same prediction.

Jain and Wallace, "Attention is not Explanation", NAACL 2019 (https://arxiv.org/abs/1902.10186),
Section 4.2: find attention distributions as far as possible from the original (Jensen-Shannon
divergence, JSD) whose output stays within a total-variation distance epsilon of the original's
(0.01 in the paper for binary tasks). If such distributions are easy to find, the observed map is
one of many equally good explanations of the same prediction.

How it is solved here, per example and layer (all heads of the layer at once):

* the layer's attention is parameterised row-wise as ``softmax(theta)`` over the real keys
  (padding keys fixed at 0, padding query rows left as they were; in the last layer only the
  [CLS] row, the only one the classifier reads: ``measures.output_rows``), starting from the log of
  ``(1 - init_mix) * original + init_mix * uniform`` plus Gaussian noise (JSD has zero gradient at
  the original, and a peaked original row saturates the softmax: weights of 1e-14 barely move);
* the objective maximises the mean JSD over the layer's heads and real query rows subject to
  ``TVD(output, original output) <= epsilon``, with the augmented Lagrangian for an inequality
  constraint, ``psi(g) = lambda g + mu/2 g^2`` if ``lambda + mu g > 0`` else ``-lambda^2/(2 mu)``
  with ``g = TVD - epsilon``, Adam on theta and the multiplier update
  ``lambda <- max(0, lambda + mu g)`` after each step;
* the best iterate that satisfied the constraint is kept, and a feasibility check re-runs a plain
  forward with it: its TVD and JSD are what is reported (the original map itself, JSD 0, is
  the fallback, also for a map whose re-run lands above epsilon by rounding, so a reported
  result is always feasible).

Departures: the paper searches k distributions of one LSTM attention vector, also pushing them
apart from each other; here one distribution per example and layer (H heads x T rows), no
mutual-distance term. Heads are reported separately (mean JSD of that head's rows within the
layer's solution). Cost: ``steps`` forward+backward passes per block of examples and layer,
from the searched layer upwards (the layers below run once per block).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from attribution.counterfactual.batches import blocks, check_examples, plain_forward, tail_probs
from attribution.counterfactual.measures import LN2, jsd, output_rows, real_keys, tvd, uniform_rows
from attribution.data import Example
from attribution.errors import AttributionInputError
from attribution.intervention import AttentionIntervention
from attribution.model_loading import LoadedClassifier


def head_jsd(a: Tensor, b: Tensor, attention_mask: Tensor, last_layer: bool = False) -> Tensor:
    """Mean JSD over the output rows (``measures.output_rows``), per head: (B, H, T, T) x2 -> (B, H)."""
    q = output_rows(attention_mask, last_layer).to(a.dtype)[..., 0]  # (B, 1, T)
    return (jsd(a, b) * q).sum(-1) / q.sum(-1)


@dataclass
class AdversarialResult:
    """Per example (N), layer (L), head (H): JSD reached within the output constraint."""

    layer_jsd: Tensor  # (N, L) mean over heads of the best feasible map
    head_jsd: Tensor  # (N, L, H)
    output_tvd: Tensor  # (N, L) TVD of the reported map (feasibility check: <= epsilon)
    prediction_kept: Tensor  # (N, L) bool: argmax unchanged under the reported map
    epsilon: float
    steps: int
    far_threshold: float

    def layer_table(self) -> list[dict]:
        rows = []
        for layer in range(self.layer_jsd.shape[1]):
            j = self.layer_jsd[:, layer]
            if torch.isnan(j).all():
                continue
            rows.append({
                "layer": layer,
                "mean_jsd": float(j.mean()),
                "median_jsd": float(j.median()),
                "fraction_far": float((j >= self.far_threshold).float().mean()),
                "fraction_prediction_kept": float(self.prediction_kept[:, layer].float().mean()),
                "max_output_tvd": float(self.output_tvd[:, layer].max()),
                "head_mean_jsd": self.head_jsd[:, layer].mean(0).tolist(),
            })
        return rows

    def to_json(self) -> dict:
        return {
            "method": "adversarial attention (Jain and Wallace 2019)",
            "n": int(self.layer_jsd.shape[0]),
            "epsilon_tvd": self.epsilon,
            "steps": self.steps,
            "jsd_max": LN2,
            "far_threshold": self.far_threshold,
            "layers": self.layer_table(),
        }


class AdversarialAttention:
    """Constrained search for maximally different attention; model state in the constructor."""

    def __init__(self, loaded: LoadedClassifier) -> None:
        self.loaded = loaded
        self.intervention = AttentionIntervention(loaded.model)
        self.num_layers = self.intervention.num_layers
        self.num_heads = self.intervention.num_heads

    def run(
        self,
        examples: Sequence[Example],
        *,
        epsilon: float = 0.01,
        layers: Sequence[int] | None = None,
        steps: int = 40,
        lr: float = 0.5,
        mu: float = 200.0,
        init_noise: float = 1.0,
        init_mix: float = 0.05,
        seed: int = 0,
        far_threshold: float = 0.5 * LN2,
        examples_per_pass: int = 16,
        progress: Callable[[float], None] | None = None,
    ) -> AdversarialResult:
        """Best feasible JSD per example, layer and head (layers not searched are NaN)."""
        batch = check_examples(examples)
        if not 0 < epsilon < 1:
            raise AttributionInputError(f"epsilon must be in (0, 1), got {epsilon}")
        if steps < 1:
            raise AttributionInputError("steps must be at least 1")
        layer_list = list(range(self.num_layers)) if layers is None else list(layers)
        for layer in layer_list:
            self.intervention._check_layer(layer)
        n, nl, nh = len(batch), self.num_layers, self.num_heads
        layer_jsd = torch.full((n, nl), float("nan"))
        head_jsd_ = torch.full((n, nl, nh), float("nan"))
        out_tvd = torch.full((n, nl), float("nan"))
        kept = torch.zeros(n, nl, dtype=torch.bool)
        total, done = n * len(layer_list), 0
        for block in blocks(self.loaded, batch, examples_per_pass):
            plain = plain_forward(self.loaded, self.intervention, block.enc)
            p0 = plain.probs  # (b, C)
            for layer in layer_list:
                a0 = plain.attention[layer].detach().float()  # (b, H, T, T)
                hidden = plain.hidden[layer].detach()  # (b, T, D): input of the searched layer
                gen = torch.Generator().manual_seed(hash((seed, layer, block.index[0])) & 0x7FFFFFFF)
                best = self._search(block.enc, hidden, layer, a0, p0, epsilon, steps, lr, mu, init_noise,
                                    init_mix, gen)
                j, tv, pred = self._check(block.enc, hidden, layer, best, a0, p0)
                bad = tv > epsilon  # rounding between the search's and the check's forward
                if bool(bad.any()):
                    best[bad.to(best.device)] = a0[bad.to(a0.device)]
                    j, tv, pred = self._check(block.enc, hidden, layer, best, a0, p0)
                layer_jsd[block.index, layer] = j.mean(-1)
                head_jsd_[block.index, layer] = j
                out_tvd[block.index, layer] = tv
                kept[block.index, layer] = pred == p0.argmax(-1)
                done += block.size
                if progress is not None:
                    progress(done / total)
        return AdversarialResult(layer_jsd, head_jsd_, out_tvd, kept, epsilon, steps, far_threshold)

    def _probs_with(self, enc: dict, hidden: Tensor, layer: int, attention: Tensor) -> Tensor:
        """Class probabilities (b, C) with layer ``layer``'s attention replaced by ``attention``
        (the model run from the layer's cached input upwards)."""
        def fn(probs: Tensor) -> Tensor:
            return attention.to(probs.dtype)

        with self.intervention.override(layer, fn):
            return tail_probs(self.loaded, layer, hidden, enc["attention_mask"])

    def _search(self, enc, hidden, layer, a0, p0, epsilon, steps, lr, mu, init_noise, init_mix, gen) -> Tensor:
        mask = enc["attention_mask"]
        keys = real_keys(mask)  # (b, 1, 1, T)
        last = layer == self.num_layers - 1
        queries = output_rows(mask, last)  # (b, 1, T, 1)
        noise = torch.randn(a0.shape, generator=gen).to(a0.device) * init_noise
        start = (1 - init_mix) * a0 + init_mix * uniform_rows(mask, a0)  # (b, H, T, T)
        theta = (start.clamp_min(1e-8).log() + noise).requires_grad_(True)
        opt = torch.optim.Adam([theta], lr=lr)
        lam = torch.zeros(a0.shape[0], device=a0.device)
        p0d = p0.to(a0.device)
        best = a0.clone()
        best_j = torch.zeros(a0.shape[0], device=a0.device)
        for _ in range(steps):
            with torch.enable_grad():
                attn = torch.softmax(theta.masked_fill(~keys, float("-inf")), -1)
                attn = torch.where(queries, attn, a0)  # (b, H, T, T)
                p = self._probs_with(enc, hidden, layer, attn)
                g = tvd(p, p0d) - epsilon  # (b,)
                j = head_jsd(attn, a0, mask, last).mean(-1)  # (b,)
                active = lam + mu * g > 0
                psi = torch.where(active, lam * g + 0.5 * mu * g * g, -lam * lam / (2 * mu))
                loss = (-j + psi).sum()
                (grad,) = torch.autograd.grad(loss, [theta])
            with torch.no_grad():
                ok = (g <= 0) & (j > best_j)
                best[ok] = attn.detach()[ok]
                best_j = torch.where(ok, j.detach(), best_j)
                lam = (lam + mu * g.detach()).clamp_min(0.0)
            theta.grad = grad
            opt.step()
        return best

    @torch.no_grad()
    def _check(self, enc, hidden, layer, attn, a0, p0) -> tuple[Tensor, Tensor, Tensor]:
        """Feasibility check: re-run the reported map; per-head JSD (b, H), TVD (b,), argmax (b,)."""
        p = self._probs_with(enc, hidden, layer, attn).cpu()
        last = layer == self.num_layers - 1
        return head_jsd(attn, a0, enc["attention_mask"], last).cpu(), tvd(p, p0), p.argmax(-1)
