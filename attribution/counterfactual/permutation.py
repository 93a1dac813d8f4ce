"""Permutation test of attention weights (Jain and Wallace 2019), per layer and per head.

Jain and Wallace, "Attention is not Explanation", NAACL 2019 (https://arxiv.org/abs/1902.10186),
Section 4.1: permute the attention weights of an example at random, keep everything else, and
measure the change of the output distribution (total-variation distance, TVD); summarise each
example by the median change over permutations and plot it against the example's maximum
attention weight. Large changes mean the prediction depends on *which* token gets the weight.

Where this departs from the paper (an LSTM with one attention distribution per example):

* A transformer layer has H heads and T query rows per head. Each real query row is permuted on
  its own (a random permutation of the weights over the *real* keys; padding keys keep weight 0
  and padding query rows are untouched), so every row still sums to 1.
* Two scopes: a whole layer (every head and row of that layer permuted, the closest analogue of
  the paper) and one head at a time (the other heads keep their weights).
* "Maximum attention weight" is the mean over real query rows of each row's largest weight
  (``measures.row_max``; in the last layer only the [CLS] row, the one the classifier reads);
  for a layer, the mean over its heads.
* Random numbers are drawn per example and layer from a generator seeded by (seed, example
  position, layer), at the example's own length, so batching and padding never change a result.

Cost: forward passes only, ``examples x layers x permutations x (1 + heads)`` rows, each from
the permuted layer upwards (the layers below run once per example).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import kendalltau
from torch import Tensor

from attribution.counterfactual.batches import blocks, check_examples, plain_forward, tail_probs
from attribution.counterfactual.measures import real_keys, real_queries, row_max, tvd
from attribution.data import Example
from attribution.errors import AttributionInputError
from attribution.intervention import AttentionIntervention
from attribution.model_loading import LoadedClassifier

ELEMENT_BUDGET = 1 << 23  # attention entries per permuted forward (bounds the index memory)


def permutation_index(keys_random: Tensor, attention_mask: Tensor) -> Tensor:
    """Gather indices (R, H, T, T) that permute each row over its real keys only.

    ``keys_random`` (R, H, T, T) holds values in [0, 1) at real (query, key) positions; padding
    keys map to themselves. ``probs.gather(-1, index)`` is the permuted attention.
    """
    r, h, t, _ = keys_random.shape
    pos = torch.arange(t, device=keys_random.device, dtype=keys_random.dtype)
    real = real_keys(attention_mask).expand(r, h, t, t)  # (R, H, T, T)
    sort_keys = torch.where(real, keys_random, 2.0 + pos)  # pads after reals, in order
    shuffled = sort_keys.argsort(-1)  # (R, H, T, T): a random order of the real keys, then pads
    in_order = torch.where(real, pos, t + pos).argsort(-1)  # real keys in order, then pads
    return torch.empty_like(shuffled).scatter_(-1, in_order, shuffled)


def permute_rows(probs: Tensor, index: Tensor, heads: Tensor, attention_mask: Tensor) -> Tensor:
    """Permuted attention where ``heads`` (R, H) is True and the query is real; else unchanged."""
    permuted = probs.gather(-1, index)  # (R, H, T, T)
    where = heads[:, :, None, None] & real_queries(attention_mask)  # (R, H, T, 1)
    return torch.where(where, permuted, probs)


@dataclass
class PermutationResult:
    """Per example (N), layer (L), head (H): median output change (TVD) over permutations."""

    layer_change: Tensor  # (N, L) median TVD, all heads of the layer permuted
    head_change: Tensor | None  # (N, L, H) median TVD, one head permuted (None: heads skipped)
    max_attention: Tensor  # (N, L, H) mean over real query rows of the row's largest weight
    predictions: list[int]
    permutations: int
    change_threshold: float

    def layer_table(self) -> list[dict]:
        """One row per layer: the distribution of per-example median changes."""
        rows = []
        for layer in range(self.layer_change.shape[1]):
            change = self.layer_change[:, layer].numpy()
            peak = self.max_attention[:, layer].mean(-1).numpy()
            tau = kendalltau(peak, change)[0] if len(change) > 1 else float("nan")
            heads = (self.head_change[:, layer].quantile(0.5, dim=0).tolist()
                     if self.head_change is not None else None)
            rows.append({
                "layer": layer,
                "median_output_change": float(np.median(change)),
                "p90_output_change": float(np.quantile(change, 0.9)),
                "fraction_changed": float(np.mean(change >= self.change_threshold)),
                "mean_max_attention": float(peak.mean()),
                "kendall_max_attention_vs_change": None if np.isnan(tau) else float(tau),
                "head_median_output_change": heads,
            })
        return rows

    def to_json(self) -> dict:
        return {
            "method": "permutation (Jain and Wallace 2019)",
            "n": int(self.layer_change.shape[0]),
            "permutations": self.permutations,
            "change_threshold": self.change_threshold,
            "layers": self.layer_table(),
            "points": {  # the figure: per example and layer, (max attention, median change)
                "max_attention": self.max_attention.mean(-1).tolist(),
                "median_output_change": self.layer_change.tolist(),
                "prediction": self.predictions,
            },
        }


class PermutationTest:
    """Output change under random permutations of attention; model state in the constructor."""

    def __init__(self, loaded: LoadedClassifier) -> None:
        self.loaded = loaded
        self.intervention = AttentionIntervention(loaded.model)
        self.num_layers = self.intervention.num_layers
        self.num_heads = self.intervention.num_heads

    def run(
        self,
        examples: Sequence[Example],
        *,
        permutations: int = 20,
        per_head: bool = True,
        layers: Sequence[int] | None = None,
        seed: int = 0,
        change_threshold: float = 0.05,
        max_rows: int = 256,
        progress: Callable[[float], None] | None = None,
    ) -> PermutationResult:
        """Median TVD over ``permutations`` random permutations, per example, layer and head.

        Layers not in ``layers`` are reported as NaN.
        """
        batch = check_examples(examples)
        if permutations < 1:
            raise AttributionInputError("permutations must be at least 1")
        layer_list = list(range(self.num_layers)) if layers is None else list(layers)
        for layer in layer_list:
            self.intervention._check_layer(layer)
        n, nl, nh = len(batch), self.num_layers, self.num_heads
        variants = permutations * (1 + (nh if per_head else 0))  # per layer and example
        layer_change = torch.full((n, nl), float("nan"))
        head_change = torch.full((n, nl, nh), float("nan")) if per_head else None
        max_attention = torch.zeros(n, nl, nh)
        predictions = [0] * n
        per_block = max(1, min(32, max_rows // min(variants, max_rows)))
        total, done = len(batch) * len(layer_list), 0
        for block in blocks(self.loaded, batch, per_block):
            b, mask = block.size, block.enc["attention_mask"]
            plain = plain_forward(self.loaded, self.intervention, block.enc)
            p0 = plain.probs  # (b, C)
            for i, ex_index in enumerate(block.index):
                predictions[ex_index] = int(p0[i].argmax())
            for layer in range(nl):
                max_attention[block.index, layer] = row_max(plain.attention[layer].float(), mask,
                                                             layer == nl - 1).cpu()
            for layer in layer_list:
                changes = self._layer(block, layer, plain, permutations, per_head, seed, max_rows)
                changes = changes.view(1 + (nh if per_head else 0), permutations, b)  # (V, P, b)
                med = changes.quantile(0.5, dim=1)  # (V, b)
                layer_change[block.index, layer] = med[0]
                if head_change is not None:
                    head_change[block.index, layer] = med[1:].T
                done += b
                if progress is not None:
                    progress(done / total)
        return PermutationResult(layer_change, head_change, max_attention, predictions,
                                 permutations, change_threshold)

    def _layer(self, block, layer: int, plain, permutations: int, per_head: bool,
               seed: int, max_rows: int) -> Tensor:
        """TVD of every variant (scope-major, then permutation, then example): (V * P * b,)."""
        nh, b = self.num_heads, block.size
        mask = block.enc["attention_mask"]
        t = mask.shape[1]
        scopes = torch.ones(1, nh, dtype=torch.bool)
        if per_head:
            scopes = torch.cat([scopes, torch.eye(nh, dtype=torch.bool)])  # (1 + H, H)
        variants = scopes.shape[0] * permutations
        heads = scopes.repeat_interleave(permutations, 0)  # (V*P, H)
        # one generator per example, drawn in variant order at the example's own length
        gens = [torch.Generator().manual_seed(hash((seed, ex_index, layer)) & 0x7FFFFFFF)
                for ex_index in block.index]
        reals = [mask[i].bool().cpu().nonzero().flatten() for i in range(b)]
        budget = max(1, ELEMENT_BUDGET // (b * nh * t * t))
        per_pass = max(1, min(max_rows // b, budget))
        out = []
        for v0 in range(0, variants, per_pass):
            v1 = min(variants, v0 + per_pass)
            rand = torch.zeros(v1 - v0, b, nh, t, t)  # (v, b, H, T, T)
            for i, real in enumerate(reals):
                draw = torch.rand(v1 - v0, nh, len(real), len(real), generator=gens[i])
                full = torch.zeros(v1 - v0, nh, t, t)
                full[:, :, real[:, None], real[None, :]] = draw
                rand[:, i] = full
            rows = (v1 - v0) * b
            enc = block.repeat(v1 - v0)
            row_mask = enc["attention_mask"]
            index = permutation_index(rand.view(rows, nh, t, t).to(self.loaded.device), row_mask)
            row_heads = heads[v0:v1].repeat_interleave(b, 0).to(self.loaded.device)  # (rows, H)

            def fn(probs: Tensor, index=index, row_heads=row_heads, row_mask=row_mask) -> Tensor:
                return permute_rows(probs, index, row_heads, row_mask)

            hidden = plain.hidden[layer].repeat(v1 - v0, 1, 1)  # (rows, T, D)
            with torch.no_grad(), self.intervention.override(layer, fn):
                p = tail_probs(self.loaded, layer, hidden, row_mask).cpu()  # (rows, C)
            out.append(tvd(p, plain.probs.repeat(v1 - v0, 1)))
        return torch.cat(out)
