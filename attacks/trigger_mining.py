"""Mine adversarial triggers from self-attention attribution.

Paper: Hao et al., "Self-Attention Attribution", AAAI 2021, section 4.4
(https://arxiv.org/abs/2004.11207). Per mining example (attribution target: the predicted
class, as in the reference code): take the head with the largest attribution score anywhere in
the network, and in that head the top-2 token-pair connections (i attends to j); the pattern
is the set of tokens of those pairs with their positions, segments and scores. Reference-code
rules, as options: drop a pattern whose summed score is under ``threshold`` and keep only the
top-1 pair when the second score is under ``second_ratio`` (0.2) of the first.

Threshold (departure): the reference code drops a pattern whose summed attribution is under an
absolute 0.02 (``threshold_mode="absolute"``). On a confident model (p ~ 0.999) every
probability attribution is tiny and nothing passes, even with a planted shortcut that flips
every input. The default ``threshold_mode="relative"`` compares the pattern's summed score with
the example's own scale, |F(A) - F(0)| of the chosen layer (``path_delta``: what the whole
layer's attention contributes, the sum of all its pair attributions by completeness), and keeps
it when score >= ``threshold`` (default 0.05) x that; layers whose |F(A) - F(0)| is under
``min_delta`` (1e-5) carry nothing to mine and the example is skipped.

Departures / generalisations:
* Special tokens: as in the reference code, the head and the pairs are chosen over all
  tokens and [CLS]/[SEP]/... are then dropped from the pattern ([CLS] -> "red" yields "red");
  a pattern left empty is skipped. ``exclude_special_pairs=True`` instead excludes pairs
  touching a special token before choosing.
* Word-pieces are merged into whole words; a word's relative position is its whitespace-word
  index in its segment divided by (words - 1). Pieces are mapped to words by character
  offsets, so WordPiece (``##``), SentencePiece (``▁``: DeBERTa-v3, XLM-R) and byte-level BPE
  (``Ġ``: RoBERTa, ModernBERT) merge alike; offsets that include the space before a word
  (SentencePiece) are moved past it, and a lone ``▁`` piece belongs to no word.
* Aggregation across examples (the reference evaluates one pattern per example): patterns with
  the same words in the same segments (in any order) are merged; ``support`` counts them, each
  word's relative position is averaged and the words are ordered by it. Ranking score (``rank_by``):
  - "attribution_sum" (default): the pattern's summed attribution added over all its supporting
    examples = support x mean score, so a pattern must be both strong and recurrent; in the
    relative threshold mode each example's score is first divided by its |F(A) - F(0)| (the same
    unit as the threshold), so one example of a layer with a large delta cannot outrank a
    pattern found again and again on saturated examples;
  - "attribution_max": the largest single-example score (closest to the paper's ordering);
  - "support": how many examples produced it.
  ``rank_by_damage`` re-ranks by the attack success rate measured on a validation slice.
* ``pushed_label``: the majority predicted label of the supporting examples (the class whose
  probability the attribution explains), with per-label support.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from attacks.trigger_attack import evaluate_triggers
from attacks.trigger_file import Trigger, TriggerFileError
from attacks.trigger_insertion import word_relative_position
from common import registries

RANKINGS = registries.TRIGGER_MINING_RANKINGS
THRESHOLD_MODES = registries.TRIGGER_THRESHOLD_MODES


@dataclass
class Pattern:
    """One example's mined pattern (before aggregation)."""

    words: list[str]
    segments: list[int]
    relative_positions: list[float]
    pair_scores: list[float]  # scores of the kept connections
    layer: int
    head: int
    predicted: int
    example_index: int
    scale: float = 1.0  # |F(A) - F(0)| of the layer in relative mode, else 1

    @property
    def score(self) -> float:
        return float(sum(self.pair_scores))

    @property
    def relative_score(self) -> float:
        """The score as a fraction of the example's own scale (= score in absolute mode)."""
        return self.score / self.scale


@dataclass
class MiningOptions:
    threshold: float = 0.05
    threshold_mode: str = "relative"
    min_delta: float = 1e-5
    second_ratio: float = 0.2
    top_pairs: int = 2
    rank_by: str = "attribution_sum"
    min_support: int = 1
    max_triggers: int | None = 50
    method: str = "gausslegendre"
    steps: int | None = None
    layers: list[int] | None = None
    chunk_size: int = 16
    exclude_special_pairs: bool = False
    output: str = "probability"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rank_by not in RANKINGS:
            raise TriggerFileError(f"unknown ranking {self.rank_by!r}; valid: {', '.join(RANKINGS)}")
        if self.threshold_mode not in THRESHOLD_MODES:
            raise TriggerFileError(f"unknown threshold mode {self.threshold_mode!r}; "
                                   f"valid: {', '.join(THRESHOLD_MODES)}")
        if self.threshold < 0:
            raise TriggerFileError("threshold must be >= 0")
        if not 0 <= self.second_ratio <= 1:
            raise TriggerFileError("second_ratio must lie in [0, 1]")
        if self.top_pairs not in (1, 2):
            raise TriggerFileError("top_pairs must be 1 or 2")


def _whitespace_word_of_char(text: str) -> list[int]:
    """For each character of ``text``: the index of the whitespace-delimited word it lies in
    (-1 on whitespace)."""
    out, word, inside = [-1] * len(text), -1, False
    for i, ch in enumerate(text):
        if ch.isspace():
            inside = False
            continue
        if not inside:
            word, inside = word + 1, True
        out[i] = word
    return out


def _token_words(tokenizer, example, num_tokens: int):
    """Per token: (segment, word string, whitespace-word index, words in segment) or None.

    Words are the *whitespace-delimited* words of the input, not the tokenizer's pre-tokens:
    BERT's pre-tokenizer splits SST-2's ``n't`` into ``n``, ``'``, ``t``, and a trigger must be a
    word a person would insert (``n't``), at a whitespace position.
    """
    max_len = getattr(tokenizer, "model_max_length", None)
    enc = tokenizer(example.text, example.pair, truncation=True, return_offsets_mapping=True,
                    max_length=max_len if max_len and max_len < 100_000 else 512)
    if len(enc["input_ids"]) != num_tokens:
        return None
    seq_ids, offsets = enc.sequence_ids(), enc["offset_mapping"]
    texts = [example.text or "", example.pair or ""]
    words = [t.split() for t in texts]
    char_word = [_whitespace_word_of_char(t) for t in texts]
    out: list[tuple[int, str, int, int] | None] = [None] * num_tokens
    for t, s in enumerate(seq_ids):
        start, end = offsets[t]
        if s is None or end <= start:
            continue
        # SentencePiece (▁) and some BPE (Ġ) offsets include the space before the word
        while start < end and start < len(texts[s]) and texts[s][start].isspace():
            start += 1
        if start == end:
            continue  # a lone word-start marker: no word of its own
        w = char_word[s][start] if start < len(char_word[s]) else -1
        if w >= 0:
            out[t] = (s, words[s][w].lower(), w, len(words[s]))
    return out


def pattern_from_result(result, example, tokenizer, index: int, opts: MiningOptions) -> Pattern | None:
    """The paper's per-example pattern (None: dropped by the threshold or not mappable)."""
    scores = result.scores  # (L, H, T, T)
    words = _token_words(tokenizer, example, scores.shape[-1])
    if words is None:
        return None
    real = torch.tensor([w is not None for w in words])
    masked = scores.clone()
    if opts.exclude_special_pairs:
        valid = real[:, None] & real[None, :]  # (T, T)
        masked = masked.masked_fill(~valid, float("-inf"))
    if opts.layers is not None:
        keep = torch.zeros(scores.shape[0], dtype=torch.bool)
        keep[list(opts.layers)] = True
        masked[~keep] = float("-inf")
    per_head = masked.flatten(2).max(-1).values  # (L, H)
    layer, head = divmod(int(per_head.argmax()), scores.shape[1])
    flat = masked[layer, head].flatten()  # (T*T,)
    top = flat.topk(min(opts.top_pairs, int(torch.isfinite(flat).sum())))
    if top.values.numel() == 0:
        return None
    pair_scores = [float(v) for v in top.values]
    if opts.threshold_mode == "relative":
        deltas = list(getattr(result, "path_delta", []) or [])
        scale = abs(deltas[layer]) if layer < len(deltas) and deltas[layer] == deltas[layer] else None
        if scale is None:  # no path delta recorded: fall back to the head's largest score
            scale = abs(pair_scores[0])
        if scale < opts.min_delta or sum(pair_scores) < opts.threshold * scale:
            return None
    else:
        scale = 1.0
        if sum(pair_scores) < opts.threshold:
            return None
    if len(pair_scores) == 2 and pair_scores[1] < opts.second_ratio * pair_scores[0]:
        pair_scores = pair_scores[:1]
    T = scores.shape[-1]
    positions = sorted({p for idx in top.indices[: len(pair_scores)].tolist() for p in divmod(idx, T)})
    seen: dict[tuple[int, int], tuple[str, float]] = {}
    for p in positions:
        if words[p] is None:  # special token: dropped from the pattern (reference code)
            continue
        seg, word, ws_index, n_ws = words[p]  # type: ignore[misc]
        seen.setdefault((seg, ws_index), (word, word_relative_position(ws_index, n_ws)))
    ordered = sorted(seen.items())
    if not ordered:
        return None
    return Pattern(
        words=[w for _, (w, _) in ordered], segments=[s for (s, _), _ in ordered],
        relative_positions=[r for _, (_, r) in ordered], pair_scores=pair_scores,
        layer=layer, head=head, predicted=int(result.prediction), example_index=index, scale=scale,
    )


def aggregate_patterns(patterns: Sequence[Pattern], labels: Sequence[str], opts: MiningOptions) -> list[Trigger]:
    """Merge identical patterns, count support, rank (see module docstring)."""
    groups: dict[tuple, list[Pattern]] = defaultdict(list)
    for p in patterns:  # same words in the same segments, in any order
        groups[tuple(sorted(zip(p.segments, p.words, strict=True)))].append(p)
    triggers = []
    for key, group in groups.items():
        if len(group) < opts.min_support:
            continue
        scores = [p.relative_score for p in group]
        by_label = Counter(labels[p.predicted] for p in group)
        pushed = Counter(p.predicted for p in group).most_common(1)[0][0]
        mean_rel = {}
        for seg_word in key:
            vals = [r for p in group for s_, w, r in
                    zip(p.segments, p.words, p.relative_positions, strict=True) if (s_, w) == seg_word]
            mean_rel[seg_word] = sum(vals) / len(vals)
        ordered = sorted(key, key=lambda sw: (sw[0], mean_rel[sw]))
        segs = [s_ for s_, _ in ordered]
        words = [w for _, w in ordered]
        rel = [mean_rel[sw] for sw in ordered]
        rank = {"attribution_sum": sum(scores), "attribution_max": max(scores),
                "support": float(len(group))}[opts.rank_by]
        heads = Counter(f"{p.layer}.{p.head}" for p in group).most_common(1)[0][0]
        triggers.append(Trigger(
            tokens=list(words), segments=list(segs), relative_positions=rel,
            pushed_label=pushed, pushed_label_name=labels[pushed], support=len(group),
            label_support=dict(by_label),
            scores={"rank": rank, "attribution_mean": sum(scores) / len(scores),
                    "attribution_max": max(scores), "attribution_sum": sum(scores),
                    "damage": None, "top_head_layer": float(heads.split(".")[0]),
                    "top_head_head": float(heads.split(".")[1])},
        ))
    triggers.sort(key=lambda t: (-float(t.scores["rank"] or 0.0), -t.support, t.tokens))
    return triggers[: opts.max_triggers] if opts.max_triggers else triggers


def mine_triggers(
    engine,
    examples: Sequence[Any],
    *,
    options: MiningOptions | None = None,
    progress: Callable[[float], None] | None = None,
) -> tuple[list[Trigger], list[Pattern]]:
    """Attribute every mining example, extract its pattern, aggregate and rank.

    ``engine`` is an ``attribution.AttentionAttribution``. Returns (ranked triggers, patterns).
    """
    opts = options or MiningOptions()
    if not examples:
        raise TriggerFileError("no mining examples")
    loaded = engine.loaded
    patterns: list[Pattern] = []
    n = len(examples)
    for start in range(0, n, opts.chunk_size):
        chunk = list(examples[start : start + opts.chunk_size])

        def sub(frac: float, start: int = start, size: int = len(chunk)) -> None:
            if progress is not None:
                progress(min(1.0, (start + frac * size) / n))

        results = engine.attribute(chunk, target="predicted", method=opts.method, steps=opts.steps,
                                   layers=opts.layers, output=opts.output, progress=sub)
        for i, (ex, res) in enumerate(zip(chunk, results, strict=True)):
            pat = pattern_from_result(res, ex, loaded.tokenizer, start + i, opts)
            if pat is not None:
                patterns.append(pat)
    return aggregate_patterns(patterns, loaded.labels, opts), patterns


def rank_by_damage(
    model, tokenizer, triggers: Sequence[Trigger], validation: Sequence[Any], *,
    candidates: int = 20, batch_size: int = 64,
) -> list[Trigger]:
    """Re-rank the first ``candidates`` triggers by attack success rate on ``validation``
    (ties: previous order); the measured rate is stored in ``scores["damage"]``."""
    head = list(triggers[:candidates])
    report = evaluate_triggers(model, tokenizer, validation, head, batch_size=batch_size,
                               keep_flipped=0)
    for trig, res in zip(head, report.results, strict=True):
        trig.scores["damage"] = res.attack_success_rate
    order = sorted(range(len(head)), key=lambda i: (-float(head[i].scores["damage"] or 0.0), i))
    return [head[i] for i in order] + list(triggers[candidates:])
