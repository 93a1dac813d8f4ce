"""Batched forwards for the counterfactual tests: examples grouped by length, repeated per variant.

Every test evaluates each example under many attention variants (a permutation, a head made
uniform, ...). One forward carries several examples times several variants: rows are
``variant-major`` (row ``k * b + i`` is variant ``k`` of example ``i``), and the attention
override of a layer receives per-row instructions. Rows are independent in eval mode, so the
grouping never changes a result.

A test that changes layer ``l`` only needs layers ``l..L-1`` again: ``plain_forward`` keeps every
layer's input and ``tail_probs`` runs the model from there (``attribution.layer_tail``), so the
layers below are computed once per block instead of once per variant.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from attribution.batching import token_lengths
from attribution.data import Example, encode
from attribution.errors import AttributionInputError
from attribution.intervention import AttentionIntervention
from attribution.layer_tail import tail_logits
from attribution.model_loading import LoadedClassifier


@dataclass
class Block:
    """A group of examples encoded together: ``index`` maps block rows to input positions."""

    index: list[int]
    enc: dict  # input_ids, attention_mask, ... each (b, T)

    @property
    def size(self) -> int:
        return len(self.index)

    def repeat(self, variants: int) -> dict:
        """The encoding repeated ``variants`` times, variant-major: (variants * b, T)."""
        return {k: v.repeat(variants, 1) for k, v in self.enc.items()}

    def lengths(self) -> list[int]:
        return self.enc["attention_mask"].sum(-1).tolist()


def check_examples(examples: Sequence[Example], *, labelled: bool = False) -> list[Example]:
    batch = list(examples)
    if not batch:
        raise AttributionInputError("no examples for the counterfactual attention tests")
    if labelled and any(ex.label is None for ex in batch):
        raise AttributionInputError("accuracy needs a gold label for every example")
    return batch


def blocks(loaded: LoadedClassifier, examples: Sequence[Example], per_block: int) -> Iterator[Block]:
    """Blocks of at most ``per_block`` examples of similar length (singles and pairs apart)."""
    lengths = token_lengths(loaded.tokenizer, list(examples))
    order = sorted(range(len(examples)), key=lambda i: (examples[i].pair is not None, lengths[i], i))
    per_block = max(1, per_block)
    start = 0
    while start < len(order):
        idx = [order[start]]
        pair = examples[idx[0]].pair is not None
        while (start + len(idx) < len(order) and len(idx) < per_block
               and (examples[order[start + len(idx)]].pair is not None) == pair):
            idx.append(order[start + len(idx)])
        start += len(idx)
        yield Block(idx, dict(encode(loaded.tokenizer, [examples[i] for i in idx], loaded.device)))


@dataclass
class PlainPass:
    """One unmodified forward of a block: class probabilities, layer inputs and attention."""

    probs: torch.Tensor  # (b, C) float32, CPU
    hidden: list[torch.Tensor]  # hidden[l]: input of layer l, (b, T, D)
    attention: list[torch.Tensor]  # attention[l]: (b, H, T, T)


@torch.no_grad()
def plain_forward(loaded: LoadedClassifier, intervention: AttentionIntervention, enc: dict) -> PlainPass:
    with intervention.capture() as cap:
        out = loaded.model(**enc, output_hidden_states=True)
    probs = torch.softmax(out.logits.float(), -1).cpu()
    return PlainPass(probs, list(out.hidden_states[: intervention.num_layers]), list(cap.probs))


def tail_probs(loaded: LoadedClassifier, layer: int, hidden: torch.Tensor,
               attention_mask: torch.Tensor) -> torch.Tensor:
    """Class probabilities (R, C) from layer ``layer``'s input ``hidden`` (R, T, D) upwards
    (attention overrides of layers >= ``layer`` apply as in a full forward)."""
    return torch.softmax(tail_logits(loaded.model, layer, hidden, attention_mask).float(), -1)
