"""Run a classifier from the input of encoder layer ``l`` upwards, skipping everything below.

The fast path of AttAttr shares the embeddings and layers below the scaled layer between all
alpha points: they run once per example, and only layers ``l..L-1`` plus the classification head
run for the batch of (example, alpha) rows. Rather than re-implementing each architecture's
mask and head, we call the model's own forward on a *view* of it: shallow copies of the module
path model -> base model -> encoder whose ``embeddings`` returns the given hidden states and
whose layer list starts at ``l``. Parameters, buffers and hooks are shared, nothing of the
original model is mutated (safe under concurrent use), and padding is masked by the model's own
code from the attention mask passed in.

DeBERTa-v2/v3 and ModernBERT run through the same view: their relative position terms
(DeBERTa) and rotary positions (ModernBERT) are rebuilt by the model from the sequence length,
which is right because the cached rows hold the real tokens from position 0 with padding on the
right; ModernBERT keeps its per-layer global / sliding-window choice (it is a property of each
layer module). Two departures from a plain slice are needed for exactness: DeBERTa-v2's
convolution (``conv_kernel_size > 0``, applied after encoder layer 0 in the encoder's loop) is
dropped from a view that starts above layer 0, and ModernBERT's ``final_norm`` is dropped from
a view that stops below the top layer.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn


class _Given(nn.Module):
    """Stands in for the embeddings: returns the hidden states it was given."""

    def __init__(self, hidden: Tensor):
        super().__init__()
        self.hidden = hidden

    def forward(self, *args, **kwargs) -> Tensor:
        return self.hidden


def _shallow(module: nn.Module) -> nn.Module:
    clone = copy.copy(module)
    clone._modules = dict(module._modules)  # own child table; parameters/buffers shared
    return clone


def _encoder_key(base: nn.Module) -> str:
    return "transformer" if "transformer" in base._modules else "encoder"  # DistilBERT


def _tail_model(model: nn.Module, start: int, stop: int | None, hidden: Tensor) -> nn.Module:
    """A view of ``model`` whose embeddings return ``hidden`` and whose layers are start..stop-1."""
    prefix = model.base_model_prefix
    tail = _shallow(model)
    base = _shallow(model._modules[prefix])
    tail._modules[prefix] = base
    if "layers" in base._modules:  # ModernBERT: the layer list sits on the base model
        layers = list(base._modules["layers"])
        base._modules["layers"] = nn.ModuleList(layers[start:stop])
        if stop is not None and stop < len(layers):
            base._modules["final_norm"] = nn.Identity()
        base._modules["embeddings"] = _Given(hidden)
        return tail
    key = _encoder_key(base)
    encoder = _shallow(base._modules[key])
    base._modules[key] = encoder
    encoder._modules["layer"] = nn.ModuleList(
        list(model._modules[prefix]._modules[key].layer)[start:stop])
    if start > 0 and encoder._modules.get("conv") is not None:
        encoder._modules["conv"] = None  # DeBERTa-v2: the conv belongs after layer 0 only
    base._modules["embeddings"] = _Given(hidden)
    base._modules.pop("embeddings_project", None)  # ELECTRA: already applied below layer 0
    return tail


def tail_logits(model: nn.Module, layer: int, hidden: Tensor, attention_mask: Tensor) -> Tensor:
    """Logits (R, C) of ``model`` fed ``hidden`` (R, T, D) as the input of layer ``layer``.

    ``attention_mask`` (R, T) marks real tokens with 1, as the tokenizer's mask does.
    """
    ids = torch.zeros(hidden.shape[:2], dtype=torch.long, device=hidden.device)  # (R, T)
    return _tail_model(model, layer, None, hidden)(input_ids=ids, attention_mask=attention_mask).logits


def tail_hidden(model: nn.Module, start: int, stop: int, hidden: Tensor,
                attention_mask: Tensor) -> Tensor:
    """Output (R, T, D) of layers ``start..stop-1`` fed ``hidden`` (R, T, D) as the input of
    layer ``start`` (no classification head)."""
    if stop <= start:
        return hidden
    ids = torch.zeros(hidden.shape[:2], dtype=torch.long, device=hidden.device)  # (R, T)
    base = _tail_model(model, start, stop, hidden)._modules[model.base_model_prefix]
    return base(input_ids=ids, attention_mask=attention_mask).last_hidden_state
