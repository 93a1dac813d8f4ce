"""AttAttr: self-attention attribution by integrated gradients over the attention probabilities.

Hao, Dong, Wei, Xu, "Self-Attention Attribution: Interpreting Information Interactions Inside
Transformer", AAAI 2021, https://arxiv.org/abs/2004.11207. For layer l and head h:

    Attr_h(A_l) = A_h (elementwise) integral_0^1 dF(alpha A_l) / dA_h d alpha

one layer scaled at a time with all its heads, zero baseline, F the softmax probability of the
target class (the logit with ``output="logit"``). Like the paper and the reference code, the
gradient is taken with respect to the scaled attention alpha*A itself, so completeness holds:
sum(Attr(A_l)) = F(A) - F(0), and we report the quadrature's gap per layer.

Where this departs from the paper / reference code (github.com/YRdddream/attattr):
* Quadrature: Gauss-Legendre (8 nodes) by default instead of the paper's right Riemann sum
  (k = 1..m) or the reference code's left sum (k = 0..m-1); both remain available
  (``method="riemann-right" | "riemann-left"``, 20 steps by default) to reproduce the paper.
* Target: the predicted class by default, as the reference code does for attribution; the gold
  label (the paper's choice for head importance, Eq. 6) or any class on request.
* Fast path: embeddings and the layers below l run once per example (a plain forward), and only
  layers >= l run for the batch of (example, alpha) rows, built from the cached input of layer l;
  the backward pass therefore stops at layer l. Rows of several examples share a batch, chunked
  by a memory budget over the global node list (chunking changes no node or weight); examples
  are sorted by length and padded only to the longest in their chunk, never to a fixed length.
* Known token-0 heads (BERT pooler, RoBERTa / XLM-R / ELECTRA heads, DistilBERT; see
  ``top_layer``): the last layer runs for query row 0 only, and the scaled layer l uses its
  values computed once per example and no query/key projections (the probabilities are given).
  Both are exact rewrites that change nothing numerically: the other query rows of the last
  layer never reach the logits, so their attribution is exactly zero (the full computation
  gives the same zeros up to rounding; tests compare the two per architecture). Other heads
  (``token0_family is None``) keep the model's own forward through every row.
* Nodes: 8 Gauss-Legendre nodes stay the default after measurement on the SST-2 fine-tuned
  MiniLM (bench/attribution.py): 8 nodes give 6e-5 relative error against 256 nodes and a
  completeness gap up to 1.5e-3 of |F(A)-F(0)|; 5 nodes already give 1.5e-3 error, so fewer
  nodes would buy speed with accuracy, and the default does not do that (``steps`` does).
* On CUDA the tail runs with TF32 matmuls; a layer whose completeness gap then exceeds 1e-3 of
  |F(A) - F(0)| is recomputed in full float32. CPU always runs float32.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from attribution.attribution_result import AttributionResult
from attribution.batching import length_blocks, token_lengths
from attribution.data import Example, encode
from attribution.errors import AttributionInputError
from attribution.intervention import AttentionIntervention
from attribution.layer_tail import tail_hidden, tail_logits
from attribution.model_loading import LoadedClassifier
from attribution.quadrature import quadrature
from attribution.targets import resolve_targets, select_output
from attribution.top_layer import (
    head_logits,
    last_layer_token0,
    layer_values,
    scaled_layer_output,
    token0_head,
)

__all__ = ["AttentionAttribution", "AttributionResult"]
GAP_TOLERANCE = 1e-3
PAD_SLACK = 1.1  # a chunk's longest example is at most ~10% longer than its shortest


class _Cached:
    """Plain-forward results of one example: layer inputs and attention, padding removed."""

    def __init__(self, tokens, logits, hidden, attn):
        self.tokens: list[str] = tokens
        self.logits: Tensor = logits  # (C,)
        self.hidden: list[Tensor] = hidden  # per layer (T, D): the input of that layer
        self.attn: list[Tensor] = attn  # per layer (H, T, T)
        self.length = len(tokens)


class AttentionAttribution:
    """AttAttr for one loaded classifier (model state here, per-call options in ``attribute``)."""

    def __init__(self, loaded: LoadedClassifier):
        self.loaded = loaded
        self.model = loaded.model
        self.device = loaded.device
        self.intervention = AttentionIntervention(loaded.model)
        self.num_layers = self.intervention.num_layers
        self.num_heads = self.intervention.num_heads
        cfg = loaded.model.config
        self._hidden = int(getattr(cfg, "hidden_size", 0) or cfg.dim)
        self._inner = int(getattr(cfg, "intermediate_size", 0) or getattr(cfg, "hidden_dim", 0))
        # Known token-0 heads: the last layer runs for query row 0 only (``top_layer``);
        # set to None to force the full computation (same numbers, slower).
        self.token0_family: str | None = token0_head(loaded.model)

    # -- normalise / validate ----------------------------------------------------------------
    @staticmethod
    def _examples(examples) -> list[Example]:
        if isinstance(examples, (Example, str)):
            examples = [examples]
        out = [Example(e) if isinstance(e, str) else e for e in examples]
        if not out:
            raise AttributionInputError("no examples to attribute")
        for i, ex in enumerate(out):
            if not isinstance(ex, Example) or not isinstance(ex.text, str) or not ex.text.strip():
                raise AttributionInputError(f"example {i}: empty text")
        return out

    def _layers(self, layers: Sequence[int] | None) -> list[int]:
        if layers is None:
            return list(range(self.num_layers))
        chosen = sorted(set(int(x) for x in layers))
        if not chosen or chosen[0] < 0 or chosen[-1] >= self.num_layers:
            raise AttributionInputError(
                f"layers {list(layers)} invalid: the model has layers 0..{self.num_layers - 1}"
            )
        return chosen

    # -- pass 1: one plain forward per block of examples -------------------------------------
    @torch.no_grad()
    def _plain(self, examples: list[Example]) -> list[_Cached]:
        enc = encode(self.loaded.tokenizer, examples, self.device)
        with self.intervention.capture() as cap:
            out = self.model(**enc, output_hidden_states=True)
        cached = []
        for b in range(len(examples)):
            idx = enc["attention_mask"][b].nonzero().flatten()  # real tokens, any padding side
            tokens = self.loaded.tokenizer.convert_ids_to_tokens(enc["input_ids"][b, idx].tolist())
            hidden = [h[b, idx] for h in out.hidden_states[: self.num_layers]]
            attn = [a[b][:, idx][:, :, idx] for a in cap.probs]  # (H, T, T)
            cached.append(_Cached(tokens, out.logits[b].float(), hidden, attn))
        return cached

    # -- the tail: layers >= l on a batch of (example, alpha) rows --------------------------
    def _tail(self, layer: int, items: list[_Cached], probs: Tensor) -> Tensor:
        """Logits (R, C) with layer ``layer``'s attention replaced by ``probs`` (R, H, T, T);
        the cached layer inputs are zero-padded to T and padding is masked by the model."""
        T = probs.shape[-1]
        hidden = torch.zeros(len(items), T, self._hidden, device=self.device)  # (R, T, D)
        mask = torch.zeros(len(items), T, dtype=torch.long, device=self.device)  # (R, T)
        for r, c in enumerate(items):
            hidden[r, : c.length] = c.hidden[layer]
            mask[r, : c.length] = 1

        def replace(a: Tensor) -> Tensor:
            if a.shape != probs.shape:
                raise RuntimeError(f"attention shape {tuple(a.shape)} != {tuple(probs.shape)}")
            return probs

        family, last = self.token0_family, self.num_layers - 1
        if family is None:
            with self.intervention.override(layer, replace):
                return tail_logits(self.model, layer, hidden, mask)

        def hook(p: Tensor) -> Tensor:  # head masks / captures still apply to the last layer
            return self.intervention.apply(last, p)

        if layer < last:
            # Layer l from the given probabilities: values once per distinct example.
            slot: dict[int, int] = {}
            index = torch.tensor([slot.setdefault(id(c), len(slot)) for c in items],
                                 device=self.device)  # (R,)
            first_rows = [index.tolist().index(u) for u in range(len(slot))]
            values = layer_values(self.model, family, layer, hidden[first_rows])  # (U, H, T, d)
            out = scaled_layer_output(self.model, family, layer, hidden, values[index],
                                      self.intervention.apply(layer, probs))  # (R, T, D)
            below = tail_hidden(self.model, layer + 1, last, out, mask)  # (R, T, D)
            top = last_layer_token0(self.model, family, below, mask, hook)  # (R, 1, D)
        else:
            row0 = probs[:, :, :1, :]  # (R, H, 1, T): the only row that reaches the logits
            with self.intervention.override(last, lambda a: row0):
                top = last_layer_token0(self.model, family, hidden, mask, hook)
        return head_logits(self.model, family, top)

    def _row_bytes(self, T: int, layer: int) -> int:
        D, H, inner = self._hidden, self.num_heads, self._inner or 4 * self._hidden
        per_layer = T * (12 * D + 3 * inner) + 5 * H * T * T  # activations kept for backward
        return 4 * ((self.num_layers - layer) * per_layer + 3 * H * T * T)

    def _chunks(self, rows: list[tuple[int, int]], cached, layer: int, budget: float):
        """Consecutive slices of ``rows`` (sorted by length) whose padded memory stays within
        ``budget`` bytes and whose lengths differ by at most ~10%, so padding wastes little."""
        start = 0
        while start < len(rows):
            end, T = start, 0
            shortest = cached[rows[start][0]].length
            while end < len(rows):
                T_new = max(T, cached[rows[end][0]].length)
                if end > start and ((end + 1 - start) * self._row_bytes(T_new, layer) > budget
                                    or T_new > PAD_SLACK * shortest + 1):
                    break
                T, end = T_new, end + 1
            yield rows[start:end]
            start = end

    def _layer(self, layer, cached, targets, alphas, weights, output, budget, tick):
        """Integrated gradients for one layer over every cached example: (scores, F(0))."""
        m = len(alphas)
        acc = [torch.zeros_like(c.attn[layer], dtype=torch.float64) for c in cached]
        rows = [(i, k) for i in range(len(cached)) for k in range(m)]
        for chunk in self._chunks(rows, cached, layer, budget):
            items = [cached[i] for i, _ in chunk]
            a = torch.tensor([float(alphas[k]) for _, k in chunk])
            scaled = self._scaled(layer, items, a).requires_grad_(True)
            logits = self._tail(layer, items, scaled)
            f = select_output(logits, torch.tensor([targets[i] for i, _ in chunk]), output)
            (grad,) = torch.autograd.grad(f.sum(), scaled)  # (R, H, T, T)
            w = torch.tensor([float(weights[k]) for _, k in chunk], dtype=torch.float64,
                             device=grad.device)  # (R,)
            ids, inverse = torch.unique(torch.tensor([i for i, _ in chunk]), return_inverse=True)
            summed = torch.zeros((len(ids), *grad.shape[1:]), dtype=torch.float64,
                                 device=grad.device)  # (U, H, T, T): weighted sum per example
            summed.index_add_(0, inverse.to(grad.device), grad.double() * w.view(-1, 1, 1, 1))
            for u, i in enumerate(ids.tolist()):
                n = cached[i].length
                acc[i] += summed[u, :, :n, :n].to(acc[i].device)
            tick(len(chunk))
        f0 = torch.zeros(len(cached), dtype=torch.float64)
        with torch.inference_mode():
            zero_rows = [(i, 0) for i in range(len(cached))]
            for chunk in self._chunks(zero_rows, cached, layer, budget * 3):
                items = [cached[i] for i, _ in chunk]
                logits = self._tail(layer, items, self._scaled(layer, items, torch.zeros(len(chunk))))
                tgt = torch.tensor([targets[i] for i, _ in chunk])
                f0[[i for i, _ in chunk]] = select_output(logits, tgt, output).double().cpu()
                tick(len(chunk))
        scores = [(c.attn[layer].double() * a_).float().cpu() for c, a_ in zip(cached, acc, strict=True)]
        return scores, f0

    def _scaled(self, layer: int, items: list[_Cached], alphas: Tensor) -> Tensor:
        T = max(c.length for c in items)
        out = torch.zeros(len(items), self.num_heads, T, T, device=self.device)  # (R, H, T, T)
        for r, c in enumerate(items):
            out[r, :, : c.length, : c.length] = c.attn[layer] * float(alphas[r])
        return out

    # -- public API ----------------------------------------------------------------------------
    def attribute(
        self,
        examples: Example | Sequence[Example],
        *,
        target: str | int | Sequence[int] = "predicted",
        method: str = "gausslegendre",
        steps: int | None = None,
        output: str = "probability",
        layers: Sequence[int] | None = None,
        memory_budget_mb: float = 1024,
        progress: Callable[[float], None] | None = None,
    ) -> list[AttributionResult]:
        """Attribute every example; results come back in input order.

        Args:
            examples: one ``Example`` (or text) or a sequence of them; pairs supported.
            target: "predicted" (default), "gold" (needs labels), a class index or label name,
                or one class index per example.
            method: quadrature rule, one of ``attribution.quadrature.QUADRATURES``.
            steps: number of nodes (default 8 for Gauss-Legendre, 20 for the Riemann sums).
            output: "probability" (softmax of the target, as the paper) or "logit".
            layers: layers to attribute (default all); others get zero scores and NaN gaps.
            memory_budget_mb: bound on the activations of one batch of (example, alpha) rows.
            progress: called with the completed fraction in [0, 1].
        """
        exs = self._examples(examples)
        alphas, weights = quadrature(method, steps)
        chosen = self._layers(layers)
        if output not in ("probability", "logit"):
            raise AttributionInputError(f"unknown output {output!r}; valid: logit, probability")
        if not memory_budget_mb > 0:
            raise AttributionInputError("memory_budget_mb must be positive")
        budget = float(memory_budget_mb) * 2**20
        lengths = token_lengths(self.loaded.tokenizer, exs)
        # Sort by (single/pair, length): a block never mixes the two and pads little.
        order = sorted(range(len(exs)), key=lambda i: (exs[i].pair is not None, lengths[i], i))
        total = len(exs) * len(chosen) * (len(alphas) + 1)
        done = [0]

        def tick(n: int) -> None:
            done[0] += n
            if progress is not None:
                progress(min(done[0] / total, 1.0))

        results: list[AttributionResult | None] = [None] * len(exs)
        def cache_bytes(T: int) -> int:  # layer inputs + attention kept per example
            return 12 * self.num_layers * (T * self._hidden + self.num_heads * T * T)

        pairs = [e.pair is not None for e in exs]
        for block in length_blocks(order, lengths, pairs, cache_bytes, budget / 4):
            cached = self._plain([exs[i] for i in block])
            logits = torch.stack([c.logits for c in cached])  # (B, C)
            tgts = resolve_targets(target, [exs[i] for i in block], logits, self.loaded.labels,
                                   [i for i in block])
            f_full = select_output(logits, torch.tensor(tgts), output).double().cpu()
            per_layer = {}
            for layer in chosen:
                per_layer[layer] = self._layer_checked(layer, cached, tgts, alphas, weights,
                                                       output, budget, tick, f_full)
            for b, i in enumerate(block):
                results[i] = self._result(cached[b], logits[b], tgts[b], per_layer, b, f_full[b],
                                          method, len(alphas), output, chosen)
        if progress is not None:
            progress(1.0)
        return results  # type: ignore[return-value]

    def _layer_checked(self, layer, cached, tgts, alphas, weights, output, budget, tick, f_full):
        if self.device.type != "cuda":
            return self._layer(layer, cached, tgts, alphas, weights, output, budget, tick)
        matmul = torch.backends.cuda.matmul
        previous = matmul.allow_tf32
        try:
            matmul.allow_tf32 = True
            scores, f0 = self._layer(layer, cached, tgts, alphas, weights, output, budget, tick)
        finally:
            matmul.allow_tf32 = previous
        gaps = torch.tensor([float(s.double().sum()) for s in scores]) - (f_full - f0)
        if bool((gaps.abs() > GAP_TOLERANCE * (f_full - f0).abs()).any()):
            matmul.allow_tf32 = False
            try:
                return self._layer(layer, cached, tgts, alphas, weights, output, budget,
                                   lambda n: None)
            finally:
                matmul.allow_tf32 = previous
        return scores, f0

    def _result(self, c, logits, tgt, per_layer, b, f_full, method, steps, output, chosen):
        L, H, T = self.num_layers, self.num_heads, c.length
        scores = torch.zeros(L, H, T, T)  # (L, H, T, T)
        gaps, deltas = [float("nan")] * L, [float("nan")] * L
        for layer, (layer_scores, f0) in per_layer.items():
            scores[layer] = layer_scores[b]
            deltas[layer] = float(f_full - f0[b])
            gaps[layer] = float(layer_scores[b].double().sum()) - deltas[layer]
        probs = torch.softmax(logits.double(), -1)
        return AttributionResult(
            tokens=c.tokens, prediction=int(logits.argmax()), probabilities=probs.tolist(),
            target=int(tgt), scores=scores, completeness_gap=gaps, method=method, steps=steps,
            output=output, layers=list(chosen), path_delta=deltas,
        )

    def path_function(
        self, example: Example | str, layer: int, *, target: str | int = "predicted",
        output: str = "probability",
    ) -> tuple[Tensor, Callable[[Tensor], Tensor]]:
        """``(A, F)`` for one example and layer: A (H, T, T) is the layer's attention and
        F maps replacement probabilities X (K, H, T, T) to the target output (K,), running only
        layers >= ``layer``. For checks against other implementations (Captum) and benchmarks."""
        ex = self._examples(example)[0]
        layer = self._layers([layer])[0]
        cached = self._plain([ex])[0]
        tgt = resolve_targets(target, [ex], cached.logits[None], self.loaded.labels, [0])[0]

        def fn(x: Tensor) -> Tensor:
            logits = self._tail(layer, [cached] * x.shape[0], x)
            return select_output(logits, torch.full((x.shape[0],), tgt), output)

        return cached.attn[layer], fn
