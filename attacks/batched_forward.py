"""Batched, dynamically padded classifier forward passes (no per-example query loop).

Inputs are sorted by length and cut into batches padded only to the longest input of the
batch; results come back in the original order. Used by the batched trigger evaluation and by
the TextAttack model wrapper, so both see exactly the same model outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def max_input_length(model, tokenizer) -> int:
    """The longest input the model accepts (position embeddings, tokenizer limit)."""
    limits = [getattr(model.config, "max_position_embeddings", 512), 512]
    tok_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_max, int) and 0 < tok_max < 100_000:
        limits.append(tok_max)
    # RoBERTa-style models offset positions by padding_idx + 1.
    if getattr(model.config, "model_type", "") in ("roberta", "xlm-roberta"):
        limits[0] -= 2
    return min(limits)


@torch.no_grad()
def batched_logits(
    model,
    tokenizer,
    texts: Sequence[str],
    pairs: Sequence[str | None] | None = None,
    *,
    batch_size: int = 64,
    device: torch.device | str | None = None,
    progress: Callable[[float], None] | None = None,
) -> torch.Tensor:
    """Logits ``(N, C)`` (float32, cpu) for N inputs; ``pairs`` gives the second segments."""
    n = len(texts)
    if pairs is not None and len(pairs) != n:
        raise ValueError("texts and pairs must have the same length")
    has_pair = pairs is not None and any(p is not None for p in pairs)
    if has_pair and any(p is None for p in pairs or []):
        raise ValueError("either every input has a second segment or none has")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    max_len = max_input_length(model, tokenizer)
    order = sorted(range(n), key=lambda i: len(texts[i]) + (len(pairs[i] or "") if has_pair else 0))
    out = torch.empty(n, model.config.num_labels, dtype=torch.float32)
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        a = [texts[i] for i in idx]
        b = [pairs[i] for i in idx] if has_pair else None  # type: ignore[index]
        enc = tokenizer(a, b, padding=True, truncation=True, max_length=max_len,
                        return_tensors="pt").to(device)
        logits = model(**enc).logits.float().cpu()  # (B, C)
        out[idx] = logits
        if progress is not None:
            progress(min(1.0, (start + len(idx)) / n))
    return out
