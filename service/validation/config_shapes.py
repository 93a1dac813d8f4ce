"""Reconcile ``config.json`` with the safetensors headers, and bound the memory it implies.

The worker builds the model from ``config.json`` and then loads the weights into it, so a config
that lies (``num_hidden_layers=100000`` next to the weights of a 2-layer model, or
``vocab_size=2e9``) would make it allocate until the machine runs out of memory before any
shape check of the library runs. Here every dimension the architecture is built from (layers,
heads, hidden, intermediate, vocabulary, positions, labels) must match the shapes of the tensors
in the headers (no tensor data is read), every weight must be a floating dtype, and the memory
the config implies for an audit must fit ``UploadLimits.max_model_memory_bytes``.

Departure from transformers: the library tolerates missing or extra tensors (it initialises or
ignores them with a warning); an audit of randomly initialised layers would measure nothing, so
here the layer set must be exactly ``0..num_layers-1``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.validation.errors import UploadRejected
from service.validation.limits import UploadLimits
from service.validation.safetensors_header import TensorInfo

FLOAT_DTYPES = {"F32", "F16", "BF16"}
_LAYER = re.compile(r"(?:^|\.)layers?\.(\d+)\.")  # BERT family "layer.N.", ModernBERT "layers.N."
# Activations held for one example at full length during an audit pass, in float32 values:
# attention probabilities (heads x positions^2) and two feed-forward-sized buffers per layer, x2
# for the gradients integrated gradients keeps. An order of magnitude, not a measurement.
AUDIT_BATCH = 1


@dataclass(frozen=True)
class Dimensions:
    layers: int
    heads: int
    hidden: int
    embedding: int       # ELECTRA's embedding size (= hidden elsewhere)
    intermediate: int
    vocab: int
    positions: int
    labels: int

    def implied_bytes(self) -> int:
        """float32 weights + gradients, plus activations of one audit batch."""
        h, e = self.hidden, self.embedding
        per_layer = 4 * h * h + 2 * h * self.intermediate + 9 * h
        params = (self.vocab + self.positions + 2) * e + (h * e if e != h else 0) + self.layers * per_layer + h * h + self.labels * h
        activations = AUDIT_BATCH * self.layers * (self.heads * self.positions ** 2 + 2 * self.positions * max(h, self.intermediate))
        return 4 * (2 * params + 2 * activations)


def _field(config: dict, *names: str, default: int | None = None) -> int:
    for name in names:
        value = config.get(name)
        if value is None:
            continue
        if type(value) is not int or not 0 < value < 2**40:
            raise UploadRejected("config_invalid", f"config.json {name} must be a positive integer, not {value!r}")
        return value
    if default is not None:
        return default
    raise UploadRejected("config_invalid", f"config.json needs a positive integer {' or '.join(names)}")


def dimensions(config: dict, model_type: str, num_labels: int) -> Dimensions:
    """The dimensions the model is built from, as transformers reads them."""
    if model_type == "distilbert":
        hidden = _field(config, "dim")
        layers, heads = _field(config, "n_layers"), _field(config, "n_heads")
        inter = _field(config, "hidden_dim")
    else:
        hidden = _field(config, "hidden_size")
        layers, heads = _field(config, "num_hidden_layers"), _field(config, "num_attention_heads")
        inter = _field(config, "intermediate_size")
    embedding = _field(config, "embedding_size", default=hidden) if model_type == "electra" else hidden
    dims = Dimensions(layers=layers, heads=heads, hidden=hidden, embedding=embedding, intermediate=inter,
                      vocab=_field(config, "vocab_size"), positions=_field(config, "max_position_embeddings"),
                      labels=num_labels)
    if hidden % heads:
        raise UploadRejected("config_invalid", f"config.json hidden size {hidden} is not a multiple of the {heads} attention heads")
    return dims


def _mismatch(what: str, name: str, shape: tuple[int, ...], expected: tuple[int, ...]) -> UploadRejected:
    return UploadRejected("config_mismatch", f"config.json implies {what} of shape {list(expected)} but tensor {name!r} has shape {list(shape)}")


def _one(tensors: dict[str, TensorInfo], *suffixes: str, required: bool = True) -> TensorInfo | None:
    found = [t for n, t in tensors.items() if any(n == s or n.endswith("." + s) for s in suffixes)]
    if len(found) > 1:
        raise UploadRejected("config_mismatch", f"more than one tensor ends with {suffixes[0]!r}: {sorted(t.name for t in found)[:4]}")
    if not found and required:
        raise UploadRejected("config_mismatch", f"no tensor named *{suffixes[0]}; the weights do not belong to this architecture")
    return found[0] if found else None


def reconcile(config: dict, model_type: str, labels: list[str], tensors: list[TensorInfo], limits: UploadLimits) -> Dimensions:
    """Refuse (``config_mismatch`` / ``model_too_large`` / ``config_invalid``) unless the config and
    the weights describe the same model and its implied memory fits the limit."""
    dims = dimensions(config, model_type, len(labels))
    implied = dims.implied_bytes()
    if implied > limits.max_model_memory_bytes:
        raise UploadRejected("model_too_large", f"config.json implies about {implied / 2**30:.1f} GiB for an audit ({dims.layers} layers, hidden {dims.hidden}, vocabulary {dims.vocab}, {dims.positions} positions); the limit is {limits.max_model_memory_bytes / 2**30:.1f} GiB")
    by_name = {t.name: t for t in tensors}
    for t in tensors:
        if t.name.endswith((".weight", ".bias")) and t.dtype not in FLOAT_DTYPES:
            raise UploadRejected("config_mismatch", f"tensor {t.name!r} has dtype {t.dtype}; weights must be one of {sorted(FLOAT_DTYPES)}")
    e, h = dims.embedding, dims.hidden
    word = _one(by_name, "embeddings.word_embeddings.weight", "embeddings.tok_embeddings.weight")
    if word.shape != (dims.vocab, e):
        raise _mismatch("a word-embedding table (vocab_size x embedding size)", word.name, word.shape, (dims.vocab, e))
    # ModernBERT (rotary) and DeBERTa-v3 (relative positions, position_biased_input false) have
    # no absolute position table; every other supported architecture must have one.
    relative = model_type == "modernbert" or (model_type == "deberta-v2"
                                              and not config.get("position_biased_input", True))
    pos = _one(by_name, "embeddings.position_embeddings.weight", required=not relative)
    if pos is not None and pos.shape != (dims.positions, e):
        raise _mismatch("a position-embedding table (max_position_embeddings x embedding size)", pos.name, pos.shape, (dims.positions, e))
    found = sorted({int(m.group(1)) for n in by_name if (m := _LAYER.search(n))})
    if found != list(range(dims.layers)):
        shown = f"{found[:3]}...{found[-1:]}" if len(found) > 6 else str(found)
        raise UploadRejected("config_mismatch", f"config.json declares {dims.layers} layers but the weights hold layers {shown}")
    for i in range(dims.layers):
        if model_type == "modernbert":  # fused Q/K/V and a gated (GLU) feed-forward input
            q = _one(by_name, f"layers.{i}.attn.Wqkv.weight")
            q_shape, ffn = (3 * h, h), _one(by_name, f"layers.{i}.mlp.Wi.weight")
            ffn_shape = (2 * dims.intermediate, h)
        else:
            q = _one(by_name, f"layer.{i}.attention.self.query.weight", f"layer.{i}.attention.q_lin.weight",
                     f"layer.{i}.attention.self.query_proj.weight")
            q_shape = (h, h)
            ffn = _one(by_name, f"layer.{i}.intermediate.dense.weight", f"layer.{i}.ffn.lin1.weight")
            ffn_shape = (dims.intermediate, h)
        if q.shape != q_shape:
            raise _mismatch("query projections", q.name, q.shape, q_shape)
        if ffn.shape != ffn_shape:
            raise _mismatch("feed-forward layers", ffn.name, ffn.shape, ffn_shape)
    head = _one(by_name, "classifier.out_proj.weight", required=False) or _one(by_name, "classifier.weight")
    assert head is not None and word is not None  # required=True raised otherwise
    if head.shape != (dims.labels, h):
        raise _mismatch(f"a classifier over {dims.labels} labels (labels x hidden)", head.name, head.shape, (dims.labels, h))
    return dims
