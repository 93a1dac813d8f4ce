"""Structural head pruning: slice heads out of the Q/K/V/output weights and save a smaller model.

Michel et al. 2019 (https://arxiv.org/abs/1905.10650) prune by masking; this module removes
the masked heads for real. Removing head h deletes rows ``h*d:(h+1)*d`` of the query, key and
value projections (weights and biases) and the same columns of the attention output
projection, so the pruned model computes exactly what the masked model computes (a masked
head contributes zero to the output projection; its bias stays).

Version note: the slicing is our own (transformers 5 dropped ``prune_heads``). The saved
config records ``pruned_heads`` ({layer: [original head indices]}); transformers 4.x applies it
when the checkpoint is loaded with plain ``AutoModelForSequenceClassification.from_pretrained``.
Transformers 5 ignores that field, so there use ``load_pruned(dir)``, which rebuilds the pruned
shapes with the same slicing and loads the safetensors weights (it works on 4.x too).
A layer whose heads are *all* masked cannot have zero heads in transformers (its reshape of
an empty tensor fails), so there the first head is kept with its value projection (weights
and bias) set to zero: its context is A @ 0 = 0, exactly the masked output. Such heads are
listed in ``heads_zeroed``.
Supported: BERT-style layers (``attention.self.query/key/value`` + ``attention.output.dense``:
bert, roberta, xlm-roberta, electra), DistilBERT (``q_lin/k_lin/v_lin/out_lin``), DeBERTa-v2/v3
(``query_proj/key_proj/value_proj`` and, without ``share_att_key``, the positional projections
``pos_key_proj/pos_query_proj``, whose rows are per head too: the c2p/p2c terms of a removed
head go with it) and ModernBERT (the fused ``Wqkv``, rows laid out (3, H, d), and ``Wo``).
transformers 4.x cannot apply ``config.pruned_heads`` to DeBERTa (its ``_prune_heads`` raises)
or ModernBERT, so ``load_pruned`` always slices itself, on both majors.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from attribution.data import Example, encode
from attribution.errors import AttributionInputError, ModelLoadError
from attribution.model_loading import LoadedClassifier


def _layers(model: nn.Module) -> list[nn.Module]:
    base = getattr(model, model.base_model_prefix, model)
    if hasattr(base, "layers") and getattr(model.config, "model_type", "") == "modernbert":
        return list(base.layers)
    if hasattr(base, "encoder") and hasattr(base.encoder, "layer"):
        return list(base.encoder.layer)
    if hasattr(base, "transformer") and hasattr(base.transformer, "layer"):
        return list(base.transformer.layer)
    raise ModelLoadError(f"structural pruning does not support {type(model).__name__}")


def _parts(layer: nn.Module) -> tuple[nn.Module, list[str], nn.Linear, str]:
    """(module holding q/k/v, their names, output projection, head-count attribute)."""
    if hasattr(layer, "attn") and hasattr(layer.attn, "Wqkv"):  # modernbert: fused q/k/v
        return layer.attn, ["Wqkv"], layer.attn.Wo, "num_heads"
    att = layer.attention
    if hasattr(att, "self") and hasattr(att.self, "query_proj"):  # deberta-v2/v3
        names = ["query_proj", "key_proj", "value_proj"]
        names += [n for n in ("pos_key_proj", "pos_query_proj") if hasattr(att.self, n)]
        return att.self, names, att.output.dense, "num_attention_heads"
    if hasattr(att, "self"):  # bert family
        return att.self, ["query", "key", "value"], att.output.dense, "num_attention_heads"
    if hasattr(att, "q_lin"):  # distilbert
        return att, ["q_lin", "k_lin", "v_lin"], att.out_lin, "n_heads"
    raise ModelLoadError(f"structural pruning does not support layer type {type(layer).__name__}")


def _slice(linear: nn.Linear, index: torch.Tensor, dim: int) -> nn.Linear:
    weight = linear.weight.index_select(dim, index).clone().detach()
    new = nn.Linear(weight.shape[1], weight.shape[0], bias=linear.bias is not None)
    new = new.to(device=linear.weight.device, dtype=linear.weight.dtype)
    new.weight.data.copy_(weight)
    if linear.bias is not None:
        bias = linear.bias if dim == 1 else linear.bias.index_select(0, index)
        new.bias.data.copy_(bias.detach())
    return new


def _count(holder: nn.Module, count_attr: str, out_proj: nn.Linear) -> int:
    """Heads of a layer; ModernBERT on transformers 5 keeps no head count, only ``head_dim``."""
    if hasattr(holder, count_attr):
        return int(getattr(holder, count_attr))
    return out_proj.in_features // int(holder.head_dim)


def _fused_rows(heads: Sequence[int], num_heads: int, d: int) -> list[int]:
    """Rows of a fused (3, H, d) q/k/v projection belonging to ``heads``."""
    return [s * num_heads * d + h * d + i for s in range(3) for h in heads for i in range(d)]


def slice_heads(model: nn.Module, heads: dict[int, Sequence[int]], *, original_heads: int) -> None:
    """Remove ``heads`` ({layer: original head indices}) in place from a not-yet-pruned model."""
    for layer_idx, removed in heads.items():
        removed = sorted(set(int(h) for h in removed))
        if not removed:
            continue
        holder, names, out_proj, count_attr = _parts(_layers(model)[layer_idx])
        current = _count(holder, count_attr, out_proj)
        if current != original_heads:
            raise ModelLoadError(f"layer {layer_idx} already has {current} heads, expected {original_heads}")
        head_dim = out_proj.in_features // current
        keep = [h for h in range(current) if h not in removed]
        index = torch.tensor([h * head_dim + i for h in keep for i in range(head_dim)],
                             dtype=torch.long, device=out_proj.weight.device)  # (kept * d,)
        if names == ["Wqkv"]:  # modernbert
            fused = torch.tensor(_fused_rows(keep, current, head_dim), dtype=torch.long,
                                 device=out_proj.weight.device)
            holder.Wqkv = _slice(holder.Wqkv, fused, dim=0)
            holder.Wo = _slice(out_proj, index, dim=1)
            holder.num_heads = len(keep)
            holder.all_head_size = len(keep) * head_dim
            holder.pruned_heads = set(getattr(holder, "pruned_heads", set())) | set(removed)
            continue
        for name in names:
            setattr(holder, name, _slice(getattr(holder, name), index, dim=0))
        new_out = _slice(out_proj, index, dim=1)
        if count_attr == "n_heads":
            holder.out_lin = new_out
        else:
            _layers(model)[layer_idx].attention.output.dense = new_out
        setattr(holder, count_attr, len(keep))
        if hasattr(holder, "all_head_size"):
            holder.all_head_size = len(keep) * head_dim
        if count_attr == "n_heads" and hasattr(holder, "dim"):
            holder.dim = len(keep) * head_dim
        att = _layers(model)[layer_idx].attention
        att.pruned_heads = set(getattr(att, "pruned_heads", set())) | set(removed)


def load_pruned(directory: str | Path, *, device: str | torch.device = "cpu") -> nn.Module:
    """Load a checkpoint written by ``StructuralPruner`` on transformers 4.x or 5.x."""
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForSequenceClassification

    directory = Path(directory)
    config = AutoConfig.from_pretrained(directory, trust_remote_code=False)
    pruned = {int(k): v for k, v in (getattr(config, "pruned_heads", None) or {}).items()}
    config.pruned_heads = {}  # built unpruned and sliced here: the same on 4.x and 5.x
    model = AutoModelForSequenceClassification.from_config(config)
    config.pruned_heads = pruned
    heads = int(getattr(config, "num_attention_heads", None) or config.n_heads)
    slice_heads(model, pruned, original_heads=heads)
    state = load_file(str(directory / "model.safetensors"))
    model.load_state_dict(state, strict=False)
    missing = set(model.state_dict()) - set(state)
    missing = {m for m in missing if not m.endswith("position_ids")}
    tied = {"lm_head"}
    if any(not any(t in m for t in tied) for m in missing):
        raise ModelLoadError(f"pruned checkpoint is missing weights: {sorted(missing)[:5]}")
    return model.eval().to(device)


def head_count(model: nn.Module) -> int:
    """Heads per layer of an unpruned model (from its first layer)."""
    holder, _, out_proj, count_attr = _parts(_layers(model)[0])
    return _count(holder, count_attr, out_proj)


def _param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@dataclass
class StructuralPruningResult:
    output_dir: str
    heads_removed: dict[int, list[int]]
    heads_zeroed: dict[int, list[int]]  # kept with a zero value projection (fully masked layers)
    params_before: int
    params_after: int
    bytes_before: int
    bytes_after: int
    max_abs_logit_diff: float  # pruned model vs masked model on the check examples
    seconds_full: float  # forward time of the unpruned model on the timing batch
    seconds_pruned: float
    speedup: float

    def to_json(self) -> dict:
        return asdict(self)


class StructuralPruner:
    """Write a smaller copy of a classifier with the masked heads removed."""

    def __init__(self, loaded: LoadedClassifier) -> None:
        self.loaded = loaded

    def prune(self, mask: torch.Tensor, *, output_dir: str | Path,
              check_examples: Sequence[Example] = (), timing_repeats: int = 3) -> StructuralPruningResult:
        """mask (L, H): 1 keep, 0 remove. Writes safetensors + config + tokenizer atomically."""
        from attribution.head_masking import MaskedEvaluator

        model = self.loaded.model
        num_layers, num_heads = len(_layers(model)), head_count(model)
        if tuple(mask.shape) != (num_layers, num_heads):
            raise AttributionInputError(f"mask must be ({num_layers}, {num_heads}), got {tuple(mask.shape)}")
        heads = {layer: [h for h in range(num_heads) if mask[layer, h] == 0] for layer in range(num_layers)}
        heads = {k: v for k, v in heads.items() if v}
        zeroed = {k: [v[0]] for k, v in heads.items() if len(v) == num_heads}
        heads = {k: v[1:] if k in zeroed else v for k, v in heads.items()}
        pruned = copy.deepcopy(model)
        for layer, (head,) in zeroed.items():
            holder, names, out_proj, _ = _parts(_layers(pruned)[layer])
            d = out_proj.in_features // num_heads
            if names == ["Wqkv"]:  # modernbert: the value block is the third (H, d) block
                value, start = holder.Wqkv, 2 * num_heads * d + head * d
            else:
                value, start = getattr(holder, names[2]), head * d
            with torch.no_grad():
                value.weight[start:start + d] = 0
                if value.bias is not None:
                    value.bias[start:start + d] = 0
        slice_heads(pruned, heads, original_heads=num_heads)
        pruned.config.pruned_heads = {k: list(v) for k, v in heads.items()}
        out = Path(output_dir)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".pruning-", dir=out.parent))
        try:
            pruned.save_pretrained(tmp, safe_serialization=True)
            self.loaded.tokenizer.save_pretrained(tmp)
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
        diff = float("nan")
        seconds_full = seconds_pruned = float("nan")
        if check_examples:
            examples = list(check_examples)
            masked = MaskedEvaluator(self.loaded).logits(examples, mask.float()[None])[0]  # (N, C)
            enc = encode(self.loaded.tokenizer, examples, self.loaded.device)
            with torch.no_grad():
                diff = float((pruned(**enc).logits.float().cpu() - masked).abs().max())
                seconds_full = _time(model, enc, timing_repeats)
                seconds_pruned = _time(pruned, enc, timing_repeats)
        with tempfile.TemporaryDirectory() as full_dir:
            model.save_pretrained(full_dir, safe_serialization=True)
            bytes_before = (Path(full_dir) / "model.safetensors").stat().st_size
        return StructuralPruningResult(
            str(out), heads, zeroed, _param_count(model), _param_count(pruned), bytes_before,
            (out / "model.safetensors").stat().st_size, diff, seconds_full, seconds_pruned,
            seconds_full / seconds_pruned if seconds_pruned and seconds_pruned == seconds_pruned else float("nan"),
        )


def _time(model: nn.Module, enc, repeats: int) -> float:
    model(**enc)  # warm-up
    best = float("inf")
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        model(**enc)
        best = min(best, time.perf_counter() - start)
    return best
