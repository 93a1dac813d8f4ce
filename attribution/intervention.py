"""The one attention intervention point: capture, override, scale and mask attention probabilities.

Works on transformers 4.45+ and 5.x for BERT, RoBERTa, DistilBERT, ELECTRA and XLM-RoBERTa:

* transformers 4.x builds an eager self-attention class whose ``dropout`` module receives the
  softmax probabilities (B, H, T, T); in eval mode its output *is* the probabilities, so a
  forward hook on it (``attention.self.dropout``, DistilBERT ``attention.dropout``) sees and
  replaces exactly what multiplies the values. Hooks live only while a context is open.
* transformers 5.x calls a function looked up in ``AttentionInterface`` by
  ``config._attn_implementation``. We register ``attaudit_eager`` (the eager computation plus the
  intervention) in ``AttentionInterface`` *and* ``AttentionMaskInterface`` (without the latter
  the model builds no padding mask and silently attends to padding) and switch the model to it;
  with no intervention open it computes exactly what ``eager`` computes.

Per-call state lives in a ``ContextVar``: interventions are scoped to the ``with`` block of the
thread / task that opened them and compose (overrides in the order opened, then the head mask,
then capture records what the model finally used). Padding is left to the model's own mask:
masked keys already have probability 0 and scaling or masking keeps them 0.
"""

from __future__ import annotations

import itertools
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from attribution.errors import AttributionInputError, ModelLoadError

ATTN_NAME = "attaudit_eager"
_OPS: ContextVar[tuple[tuple[int, str, Any], ...]] = ContextVar("attaudit_attention_ops", default=())
_UIDS = itertools.count(1)
# self-attention module -> [(weakref to intervention, layer)], read by the transformers-5 function.
_MODULES: weakref.WeakKeyDictionary[nn.Module, list] = weakref.WeakKeyDictionary()
_REGISTER_LOCK = threading.Lock()


@dataclass
class CapturedAttention:
    """Attention probabilities seen in the last forward inside ``capture()``.

    ``probs[l]`` is layer ``l``'s (B, H, T, T) tensor (``None`` for a layer that did not run).
    """

    probs: list[Tensor | None] = field(default_factory=list)


def self_attention_modules(model: nn.Module) -> list[nn.Module]:
    """The self-attention module of every encoder layer, bottom to top."""
    base = getattr(model, "base_model", model)
    model_type = getattr(model.config, "model_type", None)
    if model_type == "distilbert":
        return [layer.attention for layer in base.transformer.layer]
    if model_type in ("bert", "roberta", "electra", "xlm-roberta"):
        return [layer.attention.self for layer in base.encoder.layer]
    raise ModelLoadError(
        f"unsupported architecture {model_type!r} for attention intervention; supported: "
        "bert, distilbert, electra, roberta, xlm-roberta"
    )


def _attaudit_eager(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **_):
    """Eager attention (as transformers 5 computes it) with the intervention applied to A."""
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    scores = torch.matmul(query, key.transpose(2, 3)) * scaling  # (B, H, Tq, Tk)
    if attention_mask is not None:
        scores = scores + attention_mask[:, :, :, : key.shape[-2]]
    probs = nn.functional.softmax(scores, dim=-1)
    for ref, layer in _MODULES.get(module, ()):
        intervention = ref()
        if intervention is not None:
            probs = intervention.apply(layer, probs)
    dropped = nn.functional.dropout(probs, p=dropout, training=module.training)
    out = torch.matmul(dropped, value).transpose(1, 2).contiguous()  # (B, Tq, H, D)
    return out, probs


def _register_tf5_function() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, eager_mask

    AttentionInterface.register(ATTN_NAME, _attaudit_eager)
    AttentionMaskInterface.register(ATTN_NAME, eager_mask)


class AttentionIntervention:
    """Scoped access to every layer's attention probabilities of one classifier.

    Args:
        model: a supported Hugging Face encoder classifier loaded with eager attention.
    Raises:
        ModelLoadError: unsupported architecture or a non-eager attention implementation (4.x).
    """

    def __init__(self, model: nn.Module):
        self.model = model
        self._modules = self_attention_modules(model)
        self.num_layers = len(self._modules)
        self.num_heads = int(model.config.num_attention_heads)
        self._uid = next(_UIDS)
        self._lock = threading.Lock()
        self._active = 0
        self._handles: list[Any] = []
        first = self._modules[0]
        self.mode = (
            "function"
            if hasattr(sys.modules[type(first).__module__], "ALL_ATTENTION_FUNCTIONS")
            else "dropout-hook"
        )
        if self.mode == "function":
            with _REGISTER_LOCK:
                _register_tf5_function()
                if model.config._attn_implementation != ATTN_NAME:
                    model.set_attn_implementation(ATTN_NAME)
                for layer, module in enumerate(self._modules):
                    # weak: the entry must not keep this intervention (and its model) alive
                    entries = _MODULES.setdefault(module, [])
                    entries[:] = [e for e in entries if e[0]() is not None]
                    entries.append((weakref.ref(self), layer))
        elif getattr(model.config, "_attn_implementation", "eager") != "eager" or not isinstance(
            getattr(first, "dropout", None), nn.Dropout
        ):
            raise ModelLoadError(
                "attention intervention needs eager attention: load the model with "
                "attn_implementation='eager' (sdpa/flash return no attention probabilities)"
            )

    # -- the per-layer transformation shared by both modes --------------------------------
    def apply(self, layer: int, probs: Tensor) -> Tensor:
        """Layer ``layer``'s probabilities (B, H, T, T) after the interventions open in this context.

        Called from inside the model's forward (hook or attention function); a caller that
        recomputes a layer by hand (the AttAttr tail) calls it to apply the same interventions.
        """
        ops = [op for op in _OPS.get() if op[0] == self._uid]
        if not ops:
            return probs
        for _, kind, payload in ops:
            if kind == "override" and payload[0] == layer:
                probs = payload[1](probs)
        for _, kind, payload in ops:
            if kind == "head_mask":
                probs = probs * payload[layer].to(probs)[None, :, None, None]  # (1, H, 1, 1)
        for _, kind, payload in ops:
            if kind == "capture":
                payload.probs[layer] = probs
        return probs

    def _hook(self, layer: int) -> Callable:
        def hook(_module: nn.Module, _inputs: Any, output: Tensor) -> Tensor:
            return self.apply(layer, output)

        return hook

    @contextmanager
    def _scope(self, kind: str, payload: Any) -> Iterator[None]:
        with self._lock:
            if self._active == 0 and self.mode == "dropout-hook":
                self._handles = [
                    m.dropout.register_forward_hook(self._hook(i))
                    for i, m in enumerate(self._modules)
                ]
            self._active += 1
        token = _OPS.set(_OPS.get() + ((self._uid, kind, payload),))
        try:
            yield
        finally:
            _OPS.reset(token)
            with self._lock:
                self._active -= 1
                if self._active == 0:
                    for handle in self._handles:
                        handle.remove()
                    self._handles = []

    def _check_layer(self, layer: int) -> int:
        if not isinstance(layer, int) or not 0 <= layer < self.num_layers:
            raise AttributionInputError(
                f"layer {layer!r} out of range: the model has layers 0..{self.num_layers - 1}"
            )
        return layer

    # -- public API ------------------------------------------------------------------------
    @contextmanager
    def capture(self) -> Iterator[CapturedAttention]:
        """Record every layer's probabilities (B, H, T, T) of the forwards run inside."""
        captured = CapturedAttention(probs=[None] * self.num_layers)
        with self._scope("capture", captured):
            yield captured

    def override(self, layer: int, fn: Callable[[Tensor], Tensor]) -> Any:
        """Replace layer ``layer``'s probabilities A (B, H, T, T) by ``fn(A)`` inside the forward."""
        return self._scope("override", (self._check_layer(layer), fn))

    def scale(self, layer: int, alphas: Tensor) -> Any:
        """Scale layer ``layer``'s probabilities per batch row: A_b -> alphas[b] * A_b."""
        alphas = torch.as_tensor(alphas).flatten()

        def fn(probs: Tensor) -> Tensor:
            if probs.shape[0] != alphas.shape[0]:
                raise AttributionInputError(
                    f"scale: {alphas.shape[0]} alphas for a batch of {probs.shape[0]} rows"
                )
            return alphas.to(probs).view(-1, 1, 1, 1) * probs  # (B, 1, 1, 1) * (B, H, T, T)

        return self.override(layer, fn)

    def head_mask(self, mask: Tensor) -> Any:
        """Multiply head h of layer l by ``mask[l, h]`` (1 keeps, 0 masks); mask is (L, H)."""
        mask = torch.as_tensor(mask, dtype=torch.float32)
        if tuple(mask.shape) != (self.num_layers, self.num_heads):
            raise AttributionInputError(
                f"head mask of shape {tuple(mask.shape)}; expected "
                f"({self.num_layers}, {self.num_heads})"
            )
        return self._scope("head_mask", mask)
