"""Insert a trigger into an input, keeping each word's relative position in its segment.

Paper: Hao et al., AAAI 2021, section 4.4 (https://arxiv.org/abs/2004.11207): "the tokens of
the pattern are inserted into the same segment of the input, at the same relative positions";
the reference code inserts at ``round((len + k) * rel)`` and shifts a colliding token by one.

Departures: the paper works on WordPiece tokens; here triggers are whole words (word-pieces
merged at mining time) and segments are split on whitespace, so the triggered text is
tokenizer-agnostic and readable (TextAttack inserts the very same string). Words of a trigger
mined on the second segment of a pair go into the only segment of a single-sentence input.
Besides the paper's ``relative`` rule, ``start``, ``end`` and ``random`` placements exist.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any, TypeVar

from attacks.trigger_file import POSITIONS, Trigger, TriggerFileError

E = TypeVar("E")


def word_relative_position(index: int, num_words: int) -> float:
    """Relative position in [0, 1] of word ``index`` in a segment of ``num_words`` words."""
    return 0.0 if num_words <= 1 else index / (num_words - 1)


def insert_words(
    words: list[str],
    trigger_words: list[tuple[str, float]],
    *,
    position: str = "relative",
    rng: random.Random | None = None,
) -> list[str]:
    """Insert ``(word, relative_position)`` pairs into one segment's word list.

    ``relative``: word j of k lands at final index ``round(rel * (m + k - 1))`` (m original
    words), processed in increasing order; an index not after the previous insert shifts to
    previous + 1. ``start``/``end``: the trigger words in order at the start/end. ``random``:
    uniformly drawn slots (``rng``), kept in trigger order.
    """
    if position not in POSITIONS:
        raise TriggerFileError(f"unknown position rule {position!r}; valid: {', '.join(POSITIONS)}")
    out = list(words)
    if not trigger_words:
        return out
    new = [w for w, _ in trigger_words]
    if position == "start":
        return new + out
    if position == "end":
        return out + new
    m, k = len(words), len(trigger_words)
    if position == "random":
        rng = rng or random.Random(0)
        slots = sorted(rng.sample(range(m + k), k))
        ordered = list(zip(new, slots, strict=True))
    else:
        ordered = sorted(
            ((w, round(rel * (m + k - 1))) for w, rel in trigger_words), key=lambda x: x[1]
        )
    prev = -1
    for word, idx in ordered:
        idx = max(idx, prev + 1)  # collisions shift by one
        idx = min(idx, len(out))
        out.insert(idx, word)
        prev = idx
    return out


def trigger_rng(seed: int, rank: int, text: str, pair: str | None) -> random.Random:
    """Per (trigger, input) generator for ``random`` placement: independent of input order, so
    the batched evaluation and the TextAttack transformation draw the same slots."""
    return random.Random(f"{seed}|{rank}|{text}|{pair}")


def insert_into_texts(
    text: str,
    pair: str | None,
    trigger: Trigger,
    *,
    position: str | None = None,
    rng: random.Random | None = None,
) -> tuple[str, str | None]:
    """Return ``(text, pair)`` with the trigger inserted (whitespace re-joined by one space)."""
    rule = position or trigger.position
    per_segment: dict[int, list[tuple[str, float]]] = {0: [], 1: []}
    for word, seg, rel in zip(trigger.tokens, trigger.segments, trigger.relative_positions, strict=True):
        per_segment[seg if pair is not None else 0].append((word, rel))
    new_text = " ".join(insert_words(text.split(), per_segment[0], position=rule, rng=rng))
    new_pair = pair
    if pair is not None:
        new_pair = " ".join(insert_words(pair.split(), per_segment[1], position=rule, rng=rng))
    return new_text, new_pair


def insert_trigger(
    example: E, trigger: Trigger, *, position: str | None = None, rng: random.Random | None = None
) -> E:
    """A copy of a dataclass example (``text``, ``pair`` fields) with the trigger inserted."""
    ex: Any = example
    text, pair = insert_into_texts(ex.text, ex.pair, trigger, position=position, rng=rng)
    return dataclasses.replace(ex, text=text, pair=pair)
