"""Which class an attribution explains, and the scalar F read from the logits."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from attribution.data import Example
from attribution.errors import AttributionInputError


def resolve_targets(
    target: str | int | Sequence[int],
    examples: Sequence[Example],
    logits: Tensor,
    labels: list[str],
    positions: Sequence[int],
) -> list[int]:
    """Class index per example for ``target``: "predicted", "gold", an index, a label name, or a
    sequence with one index per example (indexed by ``positions`` into the caller's list)."""
    n_classes = logits.shape[-1]
    if isinstance(target, str) and target == "predicted":
        out = logits.argmax(-1).tolist()
    elif isinstance(target, str) and target == "gold":
        out = []
        for pos, ex in zip(positions, examples, strict=True):
            if ex.label is None:
                raise AttributionInputError(f"target 'gold' but example {pos} has no label")
            out.append(int(ex.label))
    elif isinstance(target, str):
        if target not in labels:
            raise AttributionInputError(
                f"unknown target {target!r}; use predicted, gold, a class index or one of "
                f"{', '.join(labels)}"
            )
        out = [labels.index(target)] * len(examples)
    elif isinstance(target, (int,)) and not isinstance(target, bool):
        out = [int(target)] * len(examples)
    elif isinstance(target, Sequence) or isinstance(target, Tensor):
        seq = list(target)
        if max(positions, default=-1) >= len(seq):
            raise AttributionInputError(f"{len(seq)} targets given for more examples")
        out = [int(seq[p]) for p in positions]
    else:
        raise AttributionInputError(f"invalid target {target!r}")
    for t in out:
        if not 0 <= t < n_classes:
            raise AttributionInputError(f"target class {t} out of range 0..{n_classes - 1}")
    return out


def select_output(logits: Tensor, targets: Tensor, output: str) -> Tensor:
    """F per row (R,): the softmax probability of the target class, or its logit."""
    targets = targets.to(logits.device).long().view(-1, 1)  # (R, 1)
    if output == "logit":
        return logits.gather(-1, targets).squeeze(-1)
    return torch.softmax(logits, dim=-1).gather(-1, targets).squeeze(-1)
