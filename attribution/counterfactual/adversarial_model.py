"""Adversarial model (Wiegreffe and Pinter 2019): same predictions, different attention, by training.

Wiegreffe and Pinter, "Attention is not not Explanation", EMNLP 2019
(https://arxiv.org/abs/1908.04626), Section 5: instead of searching attention per example (Jain
and Wallace), train a whole model whose predictions stay close to the original's (total
variation distance) while its attention moves away from the original's (Jensen-Shannon
divergence), with the loss ``TVD(y_adv, y_orig) - lambda * JSD(a_adv, a_orig)``. If a model
can be trained to do that easily, the original's attention was one of many maps the task admits.

Where this departs from the paper: the paper trains an LSTM with one attention layer from
scratch; here a copy of the given transformer is fine-tuned for ``steps`` AdamW steps on the
given examples with *only its query and key projections* trainable (the attention maps' own
parameters), started from the original's plus Gaussian noise (``init_noise`` times each
weight's standard deviation: at the original weights the JSD has zero gradient). Values, FFNs
and the head stay the original's, so the copy cannot re-route information through other weights:
a stricter test than the paper's. The JSD is the mean over every layer and head of the output
rows (``measures.output_rows``: all real rows below the last layer, the [CLS] row in it). The original model is never modified. Cost: ``steps`` forward and
backward passes of the copy plus ``steps`` forward passes of the original, on ``batch_size``
examples each, and one copy of the weights in memory. Opt-in only (``bench/counterfactual.py
--adversarial-model``): it is a training run, not a measurement of the given model.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from attribution.counterfactual.adversarial_attention import head_jsd
from attribution.counterfactual.batches import check_examples
from attribution.counterfactual.measures import tvd
from attribution.data import Example, encode
from attribution.errors import AttributionInputError
from attribution.intervention import AttentionIntervention
from attribution.model_loading import LoadedClassifier

# Query and key projections: BERT/RoBERTa/ELECTRA/XLM-R ``attention.self.query/key``,
# DistilBERT ``attention.q_lin/k_lin``.
QK_NAMES = ("query", "key", "q_lin", "k_lin")


@dataclass
class AdversarialModelResult:
    """How far the trained copy's attention moved, and what that cost in output agreement."""

    layer_jsd: list[float]  # mean JSD per layer (evaluation examples)
    mean_tvd: float  # mean output TVD against the original
    prediction_kept: float  # fraction of evaluation examples with the same argmax
    n: int
    steps: int
    lam: float
    seconds: float
    loss_first: float
    loss_last: float

    def to_json(self) -> dict:
        return {"method": "adversarial model (Wiegreffe and Pinter 2019)", "layer_jsd": self.layer_jsd,
                "mean_output_tvd": self.mean_tvd, "fraction_prediction_kept": self.prediction_kept,
                "n": self.n, "steps": self.steps, "lambda": self.lam, "seconds": self.seconds,
                "loss_first": self.loss_first, "loss_last": self.loss_last}


class AdversarialModel:
    """Fine-tune a copy of ``loaded.model`` against the original's attention."""

    def __init__(self, loaded: LoadedClassifier) -> None:
        self.loaded = loaded
        self.original = AttentionIntervention(loaded.model)
        self.num_layers = self.original.num_layers

    def _attention_jsd(self, adv: list[Tensor], orig: list[Tensor], mask: Tensor) -> Tensor:
        """Mean JSD over layers and heads, per example: (b,)."""
        per_layer = [head_jsd(a.float(), o.float(), mask, layer == self.num_layers - 1).mean(-1)
                     for layer, (a, o) in enumerate(zip(adv, orig, strict=True))]
        return torch.stack(per_layer, -1)  # (b, L)

    def train(
        self,
        examples: Sequence[Example],
        *,
        evaluation: Sequence[Example] | None = None,
        steps: int = 50,
        lam: float = 1.0,
        lr: float = 1e-3,
        batch_size: int = 8,
        init_noise: float = 0.5,
        seed: int = 0,
        progress: Callable[[float], None] | None = None,
    ) -> AdversarialModelResult:
        """Train the copy on ``examples``; measure it on ``evaluation`` (default: the same)."""
        batch = check_examples(examples)
        held = check_examples(evaluation) if evaluation is not None else batch
        if steps < 1 or batch_size < 1 or lam < 0:
            raise AttributionInputError("steps and batch_size must be >= 1 and lambda >= 0")
        t0 = time.perf_counter()
        model = self.loaded.model
        adv_model = copy.deepcopy(model)
        adv_model.train(False)  # eval mode: no dropout, the same computation as the original
        gen = torch.Generator().manual_seed(seed)
        trained = []
        for name, p in adv_model.named_parameters():
            is_qk = any(f".{part}." in f".{name}" for part in QK_NAMES)
            p.requires_grad_(is_qk)
            if is_qk:
                with torch.no_grad():
                    scale = float(p.std()) if p.numel() > 1 and float(p.std()) > 0 else 1.0
                    p.add_(torch.randn(p.shape, generator=gen).to(p) * init_noise * scale)
                trained.append(p)
        if not trained:
            raise AttributionInputError("no query/key projections found to train")
        adversary = AttentionIntervention(adv_model)
        opt = torch.optim.AdamW(trained, lr=lr, weight_decay=0.0)
        losses = []
        for step in range(steps):
            pick = torch.randperm(len(batch), generator=gen)[:batch_size].tolist()
            enc = encode(self.loaded.tokenizer, [batch[i] for i in pick], self.loaded.device)
            with torch.no_grad(), self.original.capture() as cap0:
                p0 = torch.softmax(model(**enc).logits.float(), -1)
            with adversary.capture() as cap:
                p = torch.softmax(adv_model(**enc).logits.float(), -1)
            jsd = self._attention_jsd(cap.probs, cap0.probs, enc["attention_mask"])  # (b, L)
            loss = (tvd(p, p0) - lam * jsd.mean(-1)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            if progress is not None:
                progress(0.9 * (step + 1) / steps)
        layer_sum, tv, kept = torch.zeros(self.num_layers), [], []
        with torch.no_grad():
            for i in range(0, len(held), batch_size):
                enc = encode(self.loaded.tokenizer, held[i:i + batch_size], self.loaded.device)
                with self.original.capture() as cap0:
                    p0 = torch.softmax(model(**enc).logits.float(), -1)
                with adversary.capture() as cap:
                    p = torch.softmax(adv_model(**enc).logits.float(), -1)
                layer_sum += self._attention_jsd(cap.probs, cap0.probs, enc["attention_mask"]).sum(0).cpu()
                tv += tvd(p, p0).tolist()
                kept += (p.argmax(-1) == p0.argmax(-1)).tolist()
        if progress is not None:
            progress(1.0)
        del adv_model, adversary
        return AdversarialModelResult((layer_sum / len(held)).tolist(), sum(tv) / len(tv),
                                      sum(kept) / len(kept), len(held), steps, lam,
                                      time.perf_counter() - t0, losses[0], losses[-1])
