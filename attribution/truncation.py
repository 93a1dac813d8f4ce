"""Explicit truncation of long inputs to the model's maximum length, with a count of what was lost.

Three sides, as in the long-document classification literature (Sun, Qiu, Xu, Huang, "How to
Fine-Tune BERT for Text Classification?", CCL 2019, https://arxiv.org/abs/1905.05583, section
5.3.1: head-only, tail-only, head+tail with 128 head and 382 tail tokens for 510 positions):

* ``head``: keep the first tokens (what a tokenizer's ``truncation=True`` does);
* ``tail``: keep the last tokens;
* ``head+tail``: keep the first quarter and the last three quarters of the budget (Sun et al.'s
  128 + 382 of 510, rounded to this ratio for other lengths).

The cut is made on the original string at token boundaries (fast tokenizers' offset mapping), so
the truncated ``Example`` is still text and every downstream step (encode, lengths, reports)
sees the same input; cuts are snapped inwards to whitespace so no word is kept half (a few more
tokens may be lost; the counts are of the tokens actually lost). Pairs are cut longest-first as the tokenizers do, each side with the chosen
rule. ``encode`` still passes ``truncation=True`` as a safety net (head side).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

from attribution.data import Example, model_max_length
from attribution.errors import DataError
from common.registries import TRUNCATION_SIDES

HEAD_SHARE = 128 / 510  # Sun et al. 2019: 128 head tokens + 382 tail tokens


@dataclass
class TruncationStats:
    """How many examples were cut and how many tokens they lost (special tokens excluded)."""

    side: str
    max_length: int
    examples: int = 0
    truncated: int = 0
    tokens_lost: int = 0
    max_tokens_lost: int = 0
    longest_input: int = 0  # tokens of the longest input before truncation (with specials)

    def to_json(self) -> dict:
        return asdict(self)


def _keep(n: int, budget: int, side: str) -> tuple[int, int]:
    """(head tokens, tail tokens) kept out of n content tokens under ``budget``."""
    if n <= budget:
        return n, 0
    if side == "head":
        return budget, 0
    if side == "tail":
        return 0, budget
    head = round(budget * HEAD_SHARE)
    return head, budget - head


def _cut(text: str, offsets: list[tuple[int, int]], budget: int, side: str) -> str:
    """``text`` cut to its first/last tokens at character offsets, snapped inwards to word
    boundaries so no word is kept half (re-tokenizing half a word can change the count)."""
    head, tail = _keep(len(offsets), budget, side)
    if head + tail >= len(offsets):
        return text
    parts = []
    if head:
        end = offsets[head - 1][1]
        snapped = text.rfind(" ", 0, end + 1) if end < len(text) and not text[end].isspace() else end
        parts.append(text[: snapped if snapped > 0 else end])
    if tail:
        start = offsets[len(offsets) - tail][0]
        snapped = start
        if start > 0 and not text[start - 1].isspace():
            space = text.find(" ", start)
            snapped = space + 1 if 0 <= space < len(text) - 1 else start
        parts.append(text[snapped:])
    return " ".join(p.strip() for p in parts if p.strip())


def _pair_budget(a: int, b: int, budget: int) -> tuple[int, int]:
    """Longest-first split of ``budget`` tokens between two texts of a and b tokens."""
    if a + b <= budget:
        return a, b
    ka = min(a, max(budget - b, (budget + 1) // 2))
    return ka, min(b, budget - ka)


def truncate_examples(tokenizer, examples: Sequence[Example], *, side: str = "head",
                      max_length: int | None = None) -> tuple[list[Example], TruncationStats]:
    """Examples cut to ``max_length`` tokens (the model's maximum by default) on ``side``.

    Returns the (possibly shortened) examples, in order, and the counts of what was cut.
    Raises ``DataError`` for an unknown side, a bad length or a tokenizer without offsets.
    """
    if side not in TRUNCATION_SIDES:
        raise DataError(f"unknown truncation side {side!r}; valid: {', '.join(TRUNCATION_SIDES)}")
    limit = model_max_length(tokenizer)
    if max_length is not None:
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 8:
            raise DataError(f"max_length must be an integer >= 8, got {max_length!r}")
        limit = min(limit, max_length)
    stats = TruncationStats(side=side, max_length=limit, examples=len(examples))
    out: list[Example] = []
    for ex in examples:
        texts = [ex.text] + ([ex.pair] if ex.pair is not None else [])
        fast = getattr(tokenizer, "is_fast", False)  # slow tokenizers have no offset mapping
        enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=fast, verbose=False)
        counts = [len(ids) for ids in enc["input_ids"]]
        specials = tokenizer.num_special_tokens_to_add(pair=ex.pair is not None)
        stats.longest_input = max(stats.longest_input, sum(counts) + specials)
        budget = limit - specials
        if sum(counts) <= budget:
            out.append(ex)
            continue
        if not fast:
            raise DataError("inputs longer than the model's maximum need a fast tokenizer "
                            "(offset mapping) to be truncated")
        keep = [budget] if ex.pair is None else list(_pair_budget(counts[0], counts[1], budget))
        cut = [_cut(t, [tuple(o) for o in offs], k, side)
               for t, offs, k in zip(texts, enc["offset_mapping"], keep, strict=True)]
        kept = tokenizer(cut, add_special_tokens=False, verbose=False)["input_ids"]
        lost = sum(counts) - sum(len(ids) for ids in kept)
        stats.truncated += 1
        stats.tokens_lost += lost
        stats.max_tokens_lost = max(stats.max_tokens_lost, lost)
        out.append(replace(ex, text=cut[0], pair=cut[1] if ex.pair is not None else None))
    return out, stats
