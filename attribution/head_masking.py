"""Evaluate a classifier under many head masks at once (rows of one batch get their own mask).

Masking multiplies a head's attention probabilities by 0, exactly what ``head_mask`` did in
transformers 4.x (and what removing the head's Q/K/V/output slices does structurally). Each
row of the batch carries its own (L, H) mask through ``AttentionIntervention.override``, so
one forward pass evaluates several mask configurations: the examples are repeated once per
configuration. Chunking never changes the result (rows are independent in eval mode).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack

import torch

from attribution.batching import token_lengths
from attribution.data import Example, encode
from attribution.errors import AttributionInputError
from attribution.intervention import AttentionIntervention
from attribution.model_loading import LoadedClassifier


def per_row_masking(intervention: AttentionIntervention, masks: torch.Tensor) -> ExitStack:
    """Enter overrides that multiply row b's probabilities by ``masks[b]``; masks (B, L, H)."""
    stack = ExitStack()
    for layer in range(masks.shape[1]):
        layer_mask = masks[:, layer]  # (B, H)
        if bool((layer_mask == 1).all()):
            continue

        def fn(probs: torch.Tensor, m: torch.Tensor = layer_mask) -> torch.Tensor:
            return probs * m.to(probs.dtype)[:, :, None, None]  # (B, H, T, T)

        stack.enter_context(intervention.override(layer, fn))
    return stack


class MaskedEvaluator:
    """Accuracy (and logits) of a classifier under head masks; model state in the constructor."""

    def __init__(self, loaded: LoadedClassifier) -> None:
        self.loaded = loaded
        self.intervention = AttentionIntervention(loaded.model)
        self.num_layers = self.intervention.num_layers
        self.num_heads = self.intervention.num_heads

    def check_masks(self, masks: torch.Tensor) -> torch.Tensor:
        if masks.dim() == 2:
            masks = masks[None]
        if masks.dim() != 3 or tuple(masks.shape[1:]) != (self.num_layers, self.num_heads):
            raise AttributionInputError(
                f"head masks must be (M, {self.num_layers}, {self.num_heads}), got {tuple(masks.shape)}")
        return masks.float()

    def _row_bytes(self, T: int) -> int:
        """Float32 bytes one row of length T holds at the peak of an eager forward: a few
        (H, T, T) attention tensors (scores, probabilities, the masked copy) plus the widest
        activations."""
        cfg = self.loaded.model.config
        hidden = int(getattr(cfg, "hidden_size", 0) or cfg.dim)
        inner = int(getattr(cfg, "intermediate_size", 0) or getattr(cfg, "hidden_dim", 0)) or 4 * hidden
        return 4 * (4 * self.num_heads * T * T + T * (inner + 4 * hidden))

    def _groups(self, order: list[int], lengths: list[int], per_pass: int, budget: float):
        """Consecutive slices of ``order`` (sorted by length), at most ``per_pass`` examples and
        ``budget`` bytes for one mask configuration each (at least one example)."""
        group: list[int] = []
        for i in order:
            T = max([lengths[j] for j in group] + [lengths[i]])
            if group and (len(group) >= per_pass or (len(group) + 1) * self._row_bytes(T) > budget):
                yield group
                group = []
            group.append(i)
        if group:
            yield group

    @torch.no_grad()
    def logits(self, examples: Sequence[Example], masks: torch.Tensor, *, max_rows: int = 256,
               examples_per_pass: int = 32, memory_budget_mb: float = 256,
               progress: Callable[[float], None] | None = None) -> torch.Tensor:
        """Logits (M, N, C) of N examples under each of M masks (M, L, H).

        Examples are grouped by token length (little padding), at most ``examples_per_pass``
        at a time, each group repeated for as many masks as fit in ``max_rows`` rows and in
        ``memory_budget_mb`` of activations. The memory bound matters for long inputs: a fixed
        256 rows of 512 tokens would hold 256 x H x 512 x 512 attention weights (3 GB per
        tensor for 12 heads) and thrash; the budget keeps batches in cache-friendly sizes.
        """
        masks = self.check_masks(masks).to(self.loaded.device)
        if not examples:
            raise AttributionInputError("no examples to evaluate")
        if not memory_budget_mb > 0:
            raise AttributionInputError("memory_budget_mb must be positive")
        budget = float(memory_budget_mb) * 2**20
        n_masks = masks.shape[0]
        per_pass = max(1, min(len(examples), examples_per_pass, max_rows))
        lengths = token_lengths(self.loaded.tokenizer, list(examples))
        order = sorted(range(len(examples)), key=lambda i: (examples[i].pair is not None, lengths[i], i))
        pairs = [ex.pair is not None for ex in examples]
        groups: list[list[int]] = []
        for group in self._groups(order, lengths, per_pass, budget):
            start = 0  # a group never mixes single texts and pairs
            for k in range(1, len(group) + 1):
                if k == len(group) or pairs[group[k]] != pairs[group[start]]:
                    groups.append(group[start:k])
                    start = k
        plan = []
        for idx in groups:
            row = self._row_bytes(max(lengths[i] for i in idx))
            plan.append((idx, max(1, min(max_rows // len(idx), int(budget // (len(idx) * row))))))
        total = sum(-(-n_masks // c) for _, c in plan)
        out = torch.empty(n_masks, len(examples), self.loaded.model.config.num_labels)
        done = 0
        for idx, cfg_chunk in plan:
            part = [examples[i] for i in idx]
            enc = encode(self.loaded.tokenizer, part, self.loaded.device)
            b = len(part)
            for c0 in range(0, n_masks, cfg_chunk):
                cfg = masks[c0:c0 + cfg_chunk]  # (c, L, H)
                c = cfg.shape[0]
                rows = cfg.repeat_interleave(b, dim=0)  # (c*b, L, H)
                rep = {k: v.repeat(c, 1) for k, v in enc.items()}  # (c*b, T)
                with per_row_masking(self.intervention, rows):
                    logits = self.loaded.model(**rep).logits.float().cpu()  # (c*b, C)
                out[c0:c0 + c, idx] = logits.view(c, b, -1)
                done += 1
                if progress is not None:
                    progress(done / total)
        return out

    def accuracy(self, examples: Sequence[Example], masks: torch.Tensor, *, max_rows: int = 256,
                 progress: Callable[[float], None] | None = None) -> torch.Tensor:
        """Accuracy (M,) against the gold labels under each mask."""
        if any(ex.label is None for ex in examples):
            raise AttributionInputError("accuracy needs a label for every example")
        gold = torch.tensor([int(ex.label) for ex in examples])  # (N,)
        logits = self.logits(examples, masks, max_rows=max_rows, progress=progress)
        return (logits.argmax(-1) == gold[None]).float().mean(-1)
