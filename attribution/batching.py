"""Grouping examples of similar length so batches pad little (never to a fixed length)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from attribution.data import Example, model_max_length

MAX_BLOCK = 256


def token_lengths(tokenizer, examples: Sequence[Example]) -> list[int]:
    """Token count of every example (singles and pairs tokenized separately)."""
    out = [0] * len(examples)
    max_len = model_max_length(tokenizer)
    for is_pair in (False, True):
        idx = [i for i, e in enumerate(examples) if (e.pair is not None) == is_pair]
        if idx:
            enc = tokenizer([examples[i].text for i in idx],
                            [examples[i].pair for i in idx] if is_pair else None,  # type: ignore[misc]
                            truncation=True, max_length=max_len)
            for i, ids in zip(idx, enc["input_ids"], strict=True):
                out[i] = len(ids)
    return out


def length_blocks(
    order: Sequence[int],
    lengths: Sequence[int],
    pairs: Sequence[bool],
    cost: Callable[[int], float],
    budget: float,
) -> Iterator[list[int]]:
    """Consecutive slices of ``order`` (sorted by pair-ness then length) whose summed
    ``cost(length)`` stays within ``budget`` (at least one example each, at most 256); a slice
    never mixes single texts and pairs."""
    block: list[int] = []
    used = 0.0
    for i in order:
        c = cost(lengths[i])
        if block and (used + c > budget or len(block) >= MAX_BLOCK or pairs[block[0]] != pairs[i]):
            yield block
            block, used = [], 0.0
        block.append(i)
        used += c
    if block:
        yield block
