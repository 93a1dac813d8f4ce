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

    @torch.no_grad()
    def logits(self, examples: Sequence[Example], masks: torch.Tensor, *, max_rows: int = 256,
               examples_per_pass: int = 32,
               progress: Callable[[float], None] | None = None) -> torch.Tensor:
        """Logits (M, N, C) of N examples under each of M masks (M, L, H).

        Examples are grouped by token length (little padding), ``examples_per_pass`` at a
        time, each group repeated for as many masks as fit in ``max_rows`` rows.
        """
        masks = self.check_masks(masks).to(self.loaded.device)
        if not examples:
            raise AttributionInputError("no examples to evaluate")
        n_masks = masks.shape[0]
        ex_chunk = max(1, min(len(examples), examples_per_pass, max_rows))
        cfg_chunk = max(1, max_rows // ex_chunk)
        lengths = token_lengths(self.loaded.tokenizer, list(examples))
        order = sorted(range(len(examples)), key=lambda i: (examples[i].pair is not None, lengths[i], i))
        out = torch.empty(n_masks, len(examples), self.loaded.model.config.num_labels)
        total = -(-len(examples) // ex_chunk) * -(-n_masks // cfg_chunk)
        done = 0
        for e0 in range(0, len(examples), ex_chunk):
            idx = order[e0:e0 + ex_chunk]
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
