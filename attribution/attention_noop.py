"""The no-op check: is attention to [SEP] / [CLS] used, or is it a place to park attention?

Clark et al., "What Does BERT Look At? An Analysis of BERT's Attention", BlackboxNLP 2019,
section 3.2 and figure 3 (https://arxiv.org/abs/1906.04341): upper-layer heads put most of their
attention on [SEP], yet the gradient of the loss with respect to those attention weights is
small, so attending to [SEP] works as a no-op. Per layer we report the mean attention mass on
[SEP], [CLS] and other tokens and the mean magnitude |dL/dA_ij| of the gradient with respect to
the attention probabilities, averaged over heads, non-padding query rows and keys of each kind.

Departures: Clark et al. differentiate BERT's masked-language-model loss; a classifier audit has
no MLM head, so the loss is the task's cross-entropy on the gold label (the predicted label for
unlabelled examples). The first token counts as [CLS] and the tokenizer's ``sep_token`` as [SEP]
(RoBERTa-style ``<s>``/``</s>`` included).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from attribution.data import Example, encode
from attribution.intervention import AttentionIntervention

KINDS = ("sep", "cls", "other")


@dataclass
class NoopCheck:
    """Per layer (index 0 = first transformer layer) and token kind: attention and gradient."""

    attention: dict[str, list[float]]  # kind -> (L,) mean attention mass per query row
    gradient: dict[str, list[float]]  # kind -> (L,) mean |dL/dA| per attention weight
    num_examples: int

    def to_json(self) -> dict[str, Any]:
        return {"num_examples": self.num_examples,
                "attention": {k: [round(x, 6) for x in v] for k, v in self.attention.items()},
                "gradient": {k: [float(f"{x:.4g}") for x in v] for k, v in self.gradient.items()}}


def noop_check(model, tokenizer, examples: Sequence[Example], *, batch_size: int = 16) -> NoopCheck:
    """Attention mass and loss-gradient magnitude on [SEP], [CLS] and other keys, per layer."""
    device = next(model.parameters()).device
    inter = AttentionIntervention(model)
    num_layers = inter.num_layers
    att = {k: torch.zeros(num_layers, dtype=torch.float64) for k in KINDS}
    grad = {k: torch.zeros(num_layers, dtype=torch.float64) for k in KINDS}
    weights = {k: 0.0 for k in KINDS}  # number of (head, query, key) weights of each kind
    rows = 0.0  # number of (head, query) rows
    sep_id = tokenizer.sep_token_id
    for lo in range(0, len(examples), batch_size):
        batch = list(examples[lo:lo + batch_size])
        enc = encode(tokenizer, batch, device)
        mask = enc["attention_mask"].bool()  # (B, T)
        kind = {"sep": (enc["input_ids"] == sep_id) & mask, "cls": torch.zeros_like(mask)}
        kind["cls"][:, 0] = True
        kind["other"] = mask & ~kind["sep"] & ~kind["cls"]
        with torch.enable_grad(), inter.capture() as cap:
            logits = model(**enc).logits
            probs = [p for p in cap.probs if p is not None]
            for p in probs:
                p.retain_grad()
            gold = torch.tensor([ex.label if ex.label is not None else -1 for ex in batch],
                                device=device)
            gold = torch.where(gold < 0, logits.argmax(-1), gold)
            loss = torch.nn.functional.cross_entropy(logits, gold, reduction="sum")
            loss.backward()
        heads = probs[0].shape[1]
        qmask = mask[:, None, :, None].float()  # (B, 1, Tq, 1)
        rows += float(qmask.sum()) * heads
        for k in KINDS:
            kmask = kind[k][:, None, None, :].float()  # (B, 1, 1, Tk)
            weights[k] += float((qmask * kmask).sum()) * heads
            for layer, p in enumerate(probs):
                att[k][layer] += float((p.detach() * qmask * kmask).sum())
                grad[k][layer] += float((p.grad.abs() * qmask * kmask).sum())  # type: ignore[union-attr]
        model.zero_grad(set_to_none=True)
    return NoopCheck(
        attention={k: (att[k] / rows).tolist() for k in KINDS},
        gradient={k: (grad[k] / max(weights[k], 1.0)).tolist() for k in KINDS},
        num_examples=len(examples),
    )
