"""Head importance: five orderings of the attention heads of a classifier.

Every ordering is computed on the held-out examples the caller passes (keep them disjoint
from the evaluation slice used for pruning curves). Scores are (L, H); higher = more important.

- ``attattr``: Hao et al. AAAI 2021 Eq. 6 (https://arxiv.org/abs/2004.11207),
  ``I_h = E_x[max Attr_h(A)]`` with the gold-label probability as target (engine's
  ``views.head_importance_attattr``).
- ``attention``: the paper's attention baseline, ``E_x[max A_h]``: the mean over examples of
  the head's largest attention weight (a plain mean of A is 1/T for every head, so useless).
- ``taylor``: Michel et al. 2019, "Are Sixteen Heads Really Better than One?"
  (https://arxiv.org/abs/1905.10650): ``I_h = E_x |A_h^T dL/dA_h|`` on the head's context
  output, computed as the derivative with respect to a per-example head gate at 1, with the
  **cross-entropy loss on the gold label** (the AttAttr reference code backpropagates the sum
  of logits instead: we do not), then layer-wise L2 normalisation as in Michel et al.
- ``accdiff``: accuracy with all heads minus accuracy with only that head masked.
- ``random``: seeded uniform scores (a random ordering).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from attribution.data import Example, encode
from attribution.errors import AttributionInputError
from attribution.head_masking import MaskedEvaluator
from attribution.model_loading import LoadedClassifier
from common import registries

ORDERINGS = registries.HEAD_ORDERINGS


@dataclass
class HeadImportanceResult:
    scores: dict[str, torch.Tensor]  # ordering -> (L, H)
    num_examples: int
    notes: dict[str, str] = field(default_factory=dict)

    def ranking(self, ordering: str) -> list[tuple[int, int]]:
        """(layer, head) pairs, most important first."""
        s = self.scores[ordering]
        flat = torch.argsort(s.flatten(), descending=True, stable=True)
        return [(int(i) // s.shape[1], int(i) % s.shape[1]) for i in flat]

    def to_json(self) -> dict:
        return {
            "num_examples": self.num_examples,
            "scores": {k: [[round(float(x), 6) for x in row] for row in v] for k, v in self.scores.items()},
            "notes": self.notes,
        }


class HeadImportance:
    """Compute head orderings; model state in the constructor, ``compute(examples, *, ...)``."""

    def __init__(self, loaded: LoadedClassifier) -> None:
        self.loaded = loaded
        self.masked = MaskedEvaluator(loaded)
        self.intervention = self.masked.intervention
        self.num_layers, self.num_heads = self.masked.num_layers, self.masked.num_heads

    def compute(
        self,
        examples: Sequence[Example],
        *,
        by: Sequence[str] = ORDERINGS,
        seed: int = 0,
        batch_size: int = 16,
        attattr_steps: int | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> HeadImportanceResult:
        unknown = [b for b in by if b not in ORDERINGS]
        if unknown:
            raise AttributionInputError(f"unknown ordering(s) {unknown}; valid: {', '.join(ORDERINGS)}")
        if not examples:
            raise AttributionInputError("no held-out examples for head importance")
        if any(ex.label is None for ex in examples) and set(by) & {"attattr", "taylor", "accdiff"}:
            raise AttributionInputError("attattr, taylor and accdiff need gold labels")
        result = HeadImportanceResult({}, len(examples))
        for i, name in enumerate(by):
            def sub(f: float, i: int = i) -> None:
                if progress is not None:
                    progress((i + f) / len(by))
            result.scores[name] = getattr(self, f"_{name}")(
                list(examples), seed=seed, batch_size=batch_size, steps=attattr_steps, progress=sub
            ).float().cpu()
        if "taylor" in by:
            result.notes["taylor"] = "cross-entropy loss on the gold label, layer-wise L2 normalised"
        if "attention" in by:
            result.notes["attention"] = "mean over examples of the head's maximum attention weight"
        if "attattr" in by:
            result.notes["attattr"] = "Eq. 6, mean over examples of max Attr_h, gold-label probability"
        return result

    def _batches(self, examples: list[Example], batch_size: int):
        for start in range(0, len(examples), batch_size):
            yield examples[start:start + batch_size]

    def _attattr(self, examples, *, steps, progress, **_) -> torch.Tensor:
        from attribution.attention_attribution import AttentionAttribution
        from attribution.views import head_importance_attattr

        engine = AttentionAttribution(self.loaded)
        kw = {"steps": steps} if steps is not None else {}
        return head_importance_attattr(engine, examples, target="gold", progress=progress, **kw)

    @torch.no_grad()
    def _attention(self, examples, *, batch_size, progress, **_) -> torch.Tensor:
        total = torch.zeros(self.num_layers, self.num_heads, dtype=torch.float64)
        batches = list(self._batches(examples, batch_size))
        for i, part in enumerate(batches):
            enc = encode(self.loaded.tokenizer, part, self.loaded.device)
            valid = enc["attention_mask"].bool()  # (B, T)
            pair = (valid[:, :, None] & valid[:, None, :])[:, None]  # (B, 1, T, T)
            with self.intervention.capture() as cap:
                self.loaded.model(**enc)
            for layer, probs in enumerate(cap.probs):  # (B, H, T, T)
                masked = probs.float().masked_fill(~pair, float("-inf"))
                total[layer] += masked.flatten(2).amax(-1).sum(0).double().cpu()  # (H,)
            if progress is not None:
                progress((i + 1) / len(batches))
        return total / len(examples)

    def _taylor(self, examples, *, batch_size, progress, **_) -> torch.Tensor:
        total = torch.zeros(self.num_layers, self.num_heads, dtype=torch.float64)
        batches = list(self._batches(examples, batch_size))
        for i, part in enumerate(batches):
            enc = encode(self.loaded.tokenizer, part, self.loaded.device)
            gold = torch.tensor([int(ex.label) for ex in part], device=self.loaded.device)
            gates = torch.ones(len(part), self.num_layers, self.num_heads,
                               device=self.loaded.device, requires_grad=True)  # (B, L, H)
            with ExitStack() as stack:
                for layer in range(self.num_layers):
                    def fn(probs, layer=layer, gates=gates):
                        return probs * gates[:, layer, :, None, None].to(probs.dtype)  # (B, H, T, T)
                    stack.enter_context(self.intervention.override(layer, fn))
                logits = self.loaded.model(**enc).logits.float()
                loss = F.cross_entropy(logits, gold, reduction="sum")  # per-example grads stay separate
                (grad,) = torch.autograd.grad(loss, gates)
            total += grad.abs().sum(0).double().cpu()
            if progress is not None:
                progress((i + 1) / len(batches))
        scores = total / len(examples)
        norm = scores.norm(dim=1, keepdim=True).clamp_min(1e-20)  # (L, 1)
        return scores / norm

    def _accdiff(self, examples, *, progress, **_) -> torch.Tensor:
        n_heads = self.num_layers * self.num_heads
        masks = torch.ones(n_heads + 1, self.num_layers, self.num_heads)  # (1 + L*H, L, H)
        for k in range(n_heads):
            masks[k + 1].view(-1)[k] = 0.0
        acc = self.masked.accuracy(examples, masks, progress=progress)
        return (acc[0] - acc[1:]).view(self.num_layers, self.num_heads)

    def _random(self, examples, *, seed, **_) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        return torch.rand(self.num_layers, self.num_heads, generator=gen)
