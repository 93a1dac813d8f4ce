"""Batched predictions of a loaded classifier (dynamic padding, no gradients)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def predict(loaded: Any, examples: Sequence[Any], *, batch_size: int = 32,
            progress: Callable[[float], None] | None = None) -> list[int]:
    """Predicted class index per example. Sorted by length inside so batches pad little."""
    import torch

    from attribution.data import encode

    order = sorted(range(len(examples)), key=lambda i: len(examples[i].text) + len(examples[i].pair or ""))
    preds = [0] * len(examples)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            ids = order[start:start + batch_size]
            batch = encode(loaded.tokenizer, [examples[i] for i in ids], loaded.device)
            logits = loaded.model(**batch).logits  # (B, C)
            for i, p in zip(ids, logits.argmax(-1).tolist(), strict=True):
                preds[i] = int(p)
            if progress is not None:
                progress(min(1.0, (start + len(ids)) / len(order)))
    return preds


def per_class_accuracy(golds: Sequence[int], preds: Sequence[int], labels: Sequence[str]) -> dict:
    """Overall accuracy, accuracy per gold class and the confusion matrix [gold][pred]."""
    k = len(labels)
    confusion = [[0] * k for _ in range(k)]
    for g, p in zip(golds, preds, strict=True):
        confusion[g][p] += 1
    per_class = []
    for c, name in enumerate(labels):
        n = sum(confusion[c])
        per_class.append({"label": name, "n": n,
                          "accuracy": (confusion[c][c] / n) if n else None})
    n = len(golds)
    return {"n": n, "accuracy": sum(confusion[c][c] for c in range(k)) / n if n else None,
            "per_class": per_class, "confusion": confusion}
