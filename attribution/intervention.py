"""The one attention intervention point: capture, override, scale and mask attention probabilities.

Works on transformers 4.45+ and 5.x for BERT, RoBERTa, DistilBERT, ELECTRA, XLM-RoBERTa,
DeBERTa-v2/v3 and ModernBERT. Three ways in, one per-layer transformation (``apply``):

* ``dropout-hook`` (BERT family on 4.x; DeBERTa-v2/v3 on 4.x *and* 5.x): the eager
  self-attention module passes the softmax probabilities (B, H, T, T) through its ``dropout``
  module; in eval mode its output *is* the probabilities, so a forward hook on it
  (``attention.self.dropout``, DistilBERT ``attention.dropout``) sees and replaces exactly what
  multiplies the values. Hooks live only while a context is open. DeBERTa's
  ``DisentangledSelfAttention`` adds the content-to-position and position-to-content relative
  terms to QK^T / sqrt(d * scale_factor) *before* this point and masks with ``masked_fill``
  (transformers >= 4.46 dropped the custom ``XSoftmax`` autograd function for a plain softmax);
  the relative terms therefore stay exactly as the model computes them and only A is touched.
  DeBERTa masks padded *query* rows too, so their (unused) rows are uniform over all keys, not
  zero on padded keys: only real query rows are guaranteed to give padding no attention.
* ``function`` (transformers 5.x BERT family and ModernBERT): the layer calls a function looked
  up in ``AttentionInterface`` by ``config._attn_implementation``. We register
  ``attaudit_eager`` (the eager computation plus the intervention) in ``AttentionInterface``
  *and* ``AttentionMaskInterface`` (without the latter the model builds no padding mask and
  silently attends to padding). ModernBERT's sliding-window layers receive the sliding-window
  mask the model builds through the same mask interface (|i - j| <= local_attention // 2), so
  the window is the model's own.
* ``modernbert-table`` (transformers 4.x ModernBERT): the layer looks its function up in the
  module-level ``MODERNBERT_ATTENTION_FUNCTION`` table; we add ``attaudit_eager`` there (the
  table's eager computation, RoPE included, plus the intervention). The model picks the global
  or the sliding-window mask per layer exactly as for ``eager``.

In the last two modes the model is switched to ``attaudit_eager`` only while an intervention
is open (reference-counted per model) and the user's own setting (``eager`` or ``sdpa``) is
restored when the last one closes; with no intervention open ``attaudit_eager`` computes exactly
what ``eager`` computes. ModernBERT's flash-attention path unpads the batch and materialises no
probabilities: a model loaded with ``flash_attention_2`` on 4.x is refused (its rotary module
is built for the unpadded layout) - load it with ``attn_implementation="eager"``.

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
from common.registries import check_implemented

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


# model_type -> how its self-attention modules are found (common.registries "architecture")
_BERT_STYLE = ("bert", "roberta", "electra", "xlm-roberta", "deberta-v2")
check_implemented("architecture", (*_BERT_STYLE, "distilbert", "modernbert"))


def self_attention_modules(model: nn.Module) -> list[nn.Module]:
    """The self-attention module of every encoder layer, bottom to top."""
    base = getattr(model, "base_model", model)
    model_type = getattr(model.config, "model_type", None)
    if model_type == "distilbert":
        return [layer.attention for layer in base.transformer.layer]
    if model_type in _BERT_STYLE:
        return [layer.attention.self for layer in base.encoder.layer]
    if model_type == "modernbert":
        return [layer.attn for layer in base.layers]
    raise ModelLoadError(
        f"unsupported architecture {model_type!r} for attention intervention; supported: "
        "bert, deberta-v2, distilbert, electra, modernbert, roberta, xlm-roberta"
    )


def _additive(mask: Tensor, dtype: torch.dtype) -> Tensor:
    """A boolean keep-mask (an sdpa-built mask) as the additive mask eager attention adds."""
    if mask.dtype != torch.bool:
        return mask
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(
        ~mask, torch.finfo(dtype).min
    )


def _intervene(module: nn.Module, probs: Tensor) -> Tensor:
    for ref, layer in _MODULES.get(module, ()):
        intervention = ref()
        if intervention is not None:
            probs = intervention.apply(layer, probs)
    return probs


def _attaudit_eager(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **_):
    """Eager attention (as transformers 5 computes it) with the intervention applied to A.

    ``sliding_window`` (ModernBERT) arrives in ``**_`` and is ignored as eager ignores it: the
    window is already in ``attention_mask``. Softmax in float32 as ModernBERT's eager does
    (identical for float32 models, the only dtype attaudit loads).
    """
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    scores = torch.matmul(query, key.transpose(2, 3)) * scaling  # (B, H, Tq, Tk)
    if attention_mask is not None:
        scores = scores + _additive(attention_mask, scores.dtype)[:, :, :, : key.shape[-2]]
    probs = nn.functional.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    probs = _intervene(module, probs)
    dropped = nn.functional.dropout(probs, p=dropout, training=module.training)
    out = torch.matmul(dropped, value).transpose(1, 2).contiguous()  # (B, Tq, H, D)
    return out, probs


def _modernbert4_eager(module, qkv, attention_mask, sliding_window_mask, position_ids,
                       local_attention, bs, dim, output_attentions=False, **_):
    """transformers 4.x ModernBERT ``eager_attention_forward`` with the intervention applied.

    Line for line the table's eager function: RoPE on q and k, global mask or, on a
    sliding-window layer (``local_attention != (-1, -1)``), the model's sliding-window mask.
    """
    from transformers.models.modernbert.modeling_modernbert import apply_rotary_pos_emb

    cos, sin = module.rotary_emb(qkv, position_ids=position_ids)
    query, key, value = qkv.transpose(3, 1).unbind(dim=2)  # each (B, H, T, d)
    query, key = apply_rotary_pos_emb(query, key, cos, sin)
    scores = torch.matmul(query, key.transpose(2, 3)) * module.head_dim**-0.5
    mask = sliding_window_mask if local_attention != (-1, -1) else attention_mask
    scores = scores + mask
    probs = nn.functional.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    probs = _intervene(module, probs)
    dropped = nn.functional.dropout(probs, p=module.attention_dropout, training=module.training)
    out = torch.matmul(dropped, value).transpose(1, 2).contiguous().view(bs, -1, dim)
    return (out, probs) if output_attentions else (out,)


def _register_tf5_function() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, eager_mask

    AttentionInterface.register(ATTN_NAME, _attaudit_eager)
    AttentionMaskInterface.register(ATTN_NAME, eager_mask)


def _register_modernbert4_function() -> None:
    from transformers.models.modernbert import modeling_modernbert as mb

    mb.MODERNBERT_ATTENTION_FUNCTION[ATTN_NAME] = _modernbert4_eager


def _intervention_mode(model: nn.Module, first: nn.Module) -> str:
    if getattr(model.config, "model_type", None) == "deberta-v2":
        return "dropout-hook"  # DisentangledSelfAttention is eager-only on 4.x and 5.x
    module = sys.modules[type(first).__module__]
    if hasattr(module, "MODERNBERT_ATTENTION_FUNCTION"):
        return "modernbert-table"
    if hasattr(module, "ALL_ATTENTION_FUNCTIONS"):
        return "function"
    return "dropout-hook"


# model -> [number of open interventions, the user's attention implementation to restore]
_SWITCHED: weakref.WeakKeyDictionary[nn.Module, list] = weakref.WeakKeyDictionary()


def _switch_in(model: nn.Module) -> None:
    with _REGISTER_LOCK:
        entry = _SWITCHED.setdefault(model, [0, None])
        if entry[0] == 0:
            entry[1] = model.config._attn_implementation
            if entry[1] != ATTN_NAME:
                model.config._attn_implementation = ATTN_NAME
        entry[0] += 1


def _switch_out(model: nn.Module) -> None:
    with _REGISTER_LOCK:
        entry = _SWITCHED[model]
        entry[0] -= 1
        if entry[0] == 0 and entry[1] != ATTN_NAME:
            model.config._attn_implementation = entry[1]


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
        self.mode = _intervention_mode(model, first)
        impl = getattr(model.config, "_attn_implementation", None) or "eager"
        if self.mode in ("function", "modernbert-table"):
            if self.mode == "modernbert-table" and impl not in ("eager", "sdpa", ATTN_NAME):
                raise ModelLoadError(
                    f"ModernBERT loaded with attn_implementation={impl!r} (unpadded layout, no "
                    "attention probabilities): reload it with attn_implementation='eager'"
                )
            with _REGISTER_LOCK:
                if self.mode == "function":
                    _register_tf5_function()
                else:
                    _register_modernbert4_function()
                for layer, module in enumerate(self._modules):
                    # weak: the entry must not keep this intervention (and its model) alive
                    entries = _MODULES.setdefault(module, [])
                    entries[:] = [e for e in entries if e[0]() is not None]
                    entries.append((weakref.ref(self), layer))
        elif impl != "eager" or not isinstance(getattr(first, "dropout", None), nn.Dropout):
            raise ModelLoadError(
                "attention intervention needs eager attention whose probabilities pass through "
                "an nn.Dropout: load the model with attn_implementation='eager' (sdpa/flash "
                "return no attention probabilities; DeBERTa needs transformers >= 4.46)"
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
            elif self._active == 0:
                _switch_in(self.model)
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
                    if self.mode != "dropout-hook":
                        _switch_out(self.model)

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
