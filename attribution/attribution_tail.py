"""The tail of AttAttr: layers at and above the scaled layer, run for a batch of (example, alpha) rows.

Hao et al., AAAI 2021 (https://arxiv.org/abs/2004.11207) run the whole model once per scaled
copy of the attention. Here the embeddings and the layers below layer l ran once per example
(their outputs are cached, see ``attribution_chunks.CachedExample``); only layers >= l run for
the rows, from the cached input of layer l, so the backward pass stops at layer l.

Known token-0 heads (``top_layer``): the last layer runs for query row 0 only and the scaled
layer l uses its values computed once per example and no query/key projections (the
probabilities are given). Both are exact rewrites (the other query rows of the last layer never
reach the logits). Other heads (``token0_family is None``) keep the model's own forward through
every row (``layer_tail``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from attribution.attribution_chunks import CachedExample
from attribution.intervention import AttentionIntervention
from attribution.layer_tail import tail_hidden, tail_logits
from attribution.top_layer import head_logits, last_layer_token0, layer_values, scaled_layer_output


def padded_inputs(layer: int, items: list[CachedExample], T: int, hidden_size: int,
                  device) -> tuple[Tensor, Tensor]:
    """Cached inputs of ``layer`` zero-padded to T: hidden (R, T, D) and mask (R, T)."""
    hidden = torch.zeros(len(items), T, hidden_size, device=device)  # (R, T, D)
    mask = torch.zeros(len(items), T, dtype=torch.long, device=device)  # (R, T)
    for r, c in enumerate(items):
        hidden[r, : c.length] = c.hidden[layer]
        mask[r, : c.length] = 1
    return hidden, mask


def _checkpointed_layers(model, start: int, stop: int, hidden: Tensor, mask: Tensor) -> Tensor:
    """Layers start..stop-1 one at a time under activation checkpointing: only each layer's
    input is kept for the backward, the layer is recomputed there (same numbers, ~1/3 more
    compute). Interventions live in a ContextVar that is still set when ``autograd.grad`` runs
    the recomputation inside the caller's scope."""
    from torch.utils.checkpoint import checkpoint

    for k in range(start, stop):
        hidden = checkpoint(tail_hidden, model, k, k + 1, hidden, mask, use_reentrant=False)
    return hidden


def tail_forward(model, intervention: AttentionIntervention, family: str | None, hidden_size: int,
                 layer: int, items: list[CachedExample], probs: Tensor, *,
                 checkpointed: bool = False) -> Tensor:
    """Logits (R, C) with layer ``layer``'s attention replaced by ``probs`` (R, H, T, T).

    The cached layer inputs are zero-padded to T and padding is masked by the model; ``family``
    is the token-0 head family (``top_layer.token0_head``) or None for the full computation.
    ``checkpointed`` (token-0 heads only) keeps one layer's activations at a time for the
    backward, so a single long row (T = 512 on BERT-base) fits a memory budget.
    """
    T = probs.shape[-1]
    device = probs.device
    hidden, mask = padded_inputs(layer, items, T, hidden_size, device)

    def replace(a: Tensor) -> Tensor:
        if a.shape != probs.shape:
            raise RuntimeError(f"attention shape {tuple(a.shape)} != {tuple(probs.shape)}")
        return probs

    last = intervention.num_layers - 1
    if family is None:
        with intervention.override(layer, replace):
            return tail_logits(model, layer, hidden, mask)

    def hook(p: Tensor) -> Tensor:  # head masks / captures still apply to the last layer
        return intervention.apply(last, p)

    if layer < last:
        # Layer l from the given probabilities: values once per distinct example.
        slot: dict[int, int] = {}
        index = torch.tensor([slot.setdefault(id(c), len(slot)) for c in items],
                             device=device)  # (R,)
        first_rows = [index.tolist().index(u) for u in range(len(slot))]
        values = layer_values(model, family, layer, hidden[first_rows])  # (U, H, T, d)
        out = scaled_layer_output(model, family, layer, hidden, values[index],
                                  intervention.apply(layer, probs))  # (R, T, D)
        run = _checkpointed_layers if checkpointed else tail_hidden
        below = run(model, layer + 1, last, out, mask)  # (R, T, D)
        top = last_layer_token0(model, family, below, mask, hook)  # (R, 1, D)
    else:
        row0 = probs[:, :, :1, :]  # (R, H, 1, T): the only row that reaches the logits
        with intervention.override(last, lambda a: row0):
            top = last_layer_token0(model, family, hidden, mask, hook)
    return head_logits(model, family, top)
