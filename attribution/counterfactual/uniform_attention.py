"""Uniform-attention baseline (Wiegreffe and Pinter 2019), one layer, all layers, one head.

Wiegreffe and Pinter, "Attention is not not Explanation", EMNLP 2019
(https://arxiv.org/abs/1908.04626), Section 3.1: freeze the attention to the uniform
distribution over the input and compare the task score with the trained model's. If uniform
attention costs nothing, the attention weights were not needed for the prediction, so what
they show cannot be the explanation of it.

Where this departs from the paper (a single-layer LSTM attention, and a model *trained* with
frozen uniform weights): a transformer has L layers of H heads, so the baseline is applied to
one layer at a time (all its heads), to every layer at once, and to one head at a time. The
model is not retrained: the trained weights are evaluated with the replaced attention, which
tests whether *this* model needs its attention, not whether the task does. Uniform means
1 / (number of real tokens) on every real key of every real query row; padding is untouched.
The accuracy drop (model minus uniform) carries Newcombe's paired 95% interval (n stated).

Cost: forward passes only, ``examples x (1 + L + 1 + L x H)`` rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

import torch
from torch import Tensor

from attribution.counterfactual.batches import blocks, check_examples
from attribution.counterfactual.intervals import paired_difference
from attribution.counterfactual.measures import real_queries, uniform_rows
from attribution.data import Example
from attribution.intervention import AttentionIntervention
from attribution.model_loading import LoadedClassifier


def uniform_override(intervention: AttentionIntervention, flags: Tensor, attention_mask: Tensor) -> ExitStack:
    """Overrides making head h of layer l uniform in row b where ``flags[b, l, h]`` (B, L, H)."""
    stack = ExitStack()
    for layer in range(flags.shape[1]):
        layer_flags = flags[:, layer]  # (B, H)
        if not bool(layer_flags.any()):
            continue

        def fn(probs: Tensor, f: Tensor = layer_flags) -> Tensor:
            where = f.to(probs.device)[:, :, None, None] & real_queries(attention_mask)  # (B, H, T, 1)
            return torch.where(where, uniform_rows(attention_mask, probs), probs)

        stack.enter_context(intervention.override(layer, fn))
    return stack


@dataclass
class UniformResult:
    """Correctness (V, N) of N examples under V variants; variant 0 is the unmodified model."""

    names: list[str]  # "model", "layer 0", ..., "all layers", "layer 0 head 0", ...
    scopes: list[dict]  # {"layer": int | None, "head": int | None} per variant
    correct: Tensor  # (V, N) bool
    predictions: Tensor  # (V, N) int

    def row(self, v: int) -> dict:
        acc = float(self.correct[v].float().mean())
        drop, low, high = paired_difference(self.correct[0].tolist(), self.correct[v].tolist())
        agree = float((self.predictions[v] == self.predictions[0]).float().mean())
        return {"variant": self.names[v], **self.scopes[v], "accuracy": acc, "accuracy_drop": drop,
                "drop_ci95": [low, high], "agreement_with_model": agree,
                "n": int(self.correct.shape[1])}

    def to_json(self) -> dict:
        rows = [self.row(v) for v in range(len(self.names))]
        return {
            "method": "uniform attention (Wiegreffe and Pinter 2019)",
            "n": int(self.correct.shape[1]),
            "interval": "Newcombe paired 95% (hybrid score)",
            "model_accuracy": rows[0]["accuracy"],
            "layers": [r for r in rows if r["layer"] is not None and r["head"] is None],
            "all_layers": next(r for r in rows if r["variant"] == "all layers"),
            "heads": [r for r in rows if r["head"] is not None],
        }


class UniformAttentionBaseline:
    """Accuracy with attention replaced by uniform; model state in the constructor."""

    def __init__(self, loaded: LoadedClassifier) -> None:
        self.loaded = loaded
        self.intervention = AttentionIntervention(loaded.model)
        self.num_layers = self.intervention.num_layers
        self.num_heads = self.intervention.num_heads

    def variants(self, per_head: bool) -> tuple[list[str], list[dict], Tensor]:
        """Names, scopes and flags (V, L, H) of every variant, the plain model first."""
        nl, nh = self.num_layers, self.num_heads
        names, scopes, flags = ["model"], [{"layer": None, "head": None}], [torch.zeros(nl, nh, dtype=torch.bool)]
        for layer in range(nl):
            f = torch.zeros(nl, nh, dtype=torch.bool)
            f[layer] = True
            names.append(f"layer {layer}")
            scopes.append({"layer": layer, "head": None})
            flags.append(f)
        names.append("all layers")
        scopes.append({"layer": None, "head": None})
        flags.append(torch.ones(nl, nh, dtype=torch.bool))
        if per_head:
            for layer in range(nl):
                for head in range(nh):
                    f = torch.zeros(nl, nh, dtype=torch.bool)
                    f[layer, head] = True
                    names.append(f"layer {layer} head {head}")
                    scopes.append({"layer": layer, "head": head})
                    flags.append(f)
        return names, scopes, torch.stack(flags)

    @torch.no_grad()
    def logits(self, examples: Sequence[Example], flags: Tensor, *, max_rows: int = 256,
               progress: Callable[[float], None] | None = None) -> Tensor:
        """Logits (V, N, C) of every example under every variant's flags (V, L, H)."""
        batch = check_examples(examples)
        v_total = flags.shape[0]
        out = torch.empty(v_total, len(batch), self.loaded.model.config.num_labels)
        per_block = max(1, min(32, max_rows))
        done, total = 0, len(batch) * v_total
        for block in blocks(self.loaded, batch, per_block):
            b = block.size
            per_pass = max(1, max_rows // b)
            for v0 in range(0, v_total, per_pass):
                v1 = min(v_total, v0 + per_pass)
                enc = block.repeat(v1 - v0)
                rows = flags[v0:v1].repeat_interleave(b, 0)  # (rows, L, H)
                with uniform_override(self.intervention, rows, enc["attention_mask"]):
                    logits = self.loaded.model(**enc).logits.float().cpu()  # (rows, C)
                out[v0:v1, block.index] = logits.view(v1 - v0, b, -1)
                done += (v1 - v0) * b
                if progress is not None:
                    progress(done / total)
        return out

    def run(self, examples: Sequence[Example], *, per_head: bool = True, max_rows: int = 256,
            progress: Callable[[float], None] | None = None) -> UniformResult:
        """Accuracy and prediction agreement of every variant against the gold labels."""
        batch = check_examples(examples, labelled=True)
        names, scopes, flags = self.variants(per_head)
        logits = self.logits(batch, flags, max_rows=max_rows, progress=progress)
        gold = torch.tensor([int(ex.label) for ex in batch])  # (N,)
        preds = logits.argmax(-1)  # (V, N)
        return UniformResult(names, scopes, preds == gold[None], preds)
