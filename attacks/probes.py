"""Keyword-reliance probes: does the model keep its prediction on unreadable inputs?

From the BERT-analysis literature on word order (Pham et al., "Out of Order: How important is
the sequential order of words in a sentence in Natural Language Understanding tasks?",
ACL Findings 2021, https://arxiv.org/abs/2012.15180; Sinha et al., "UnNatural Language
Inference", ACL 2021, https://arxiv.org/abs/2101.00010): a classifier that keeps most
predictions when the word order is shuffled, or when every word is also scrambled, is matching
keywords rather than reading. Probes:

* ``shuffled``: the words of each segment in a random order;
* ``scrambled``: word order shuffled and the letters inside each word shuffled (unreadable,
  but the same bag of characters).

Reported per probe: accuracy, the fraction of predictions kept, per gold class. The verdict
"keyword reliance" is raised when at least ``threshold`` (default 0.8) of the shuffled
predictions are kept; the threshold is ours, not the papers'.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import torch

from attacks.batched_forward import batched_logits

PROBES = ("shuffled", "scrambled")


def _shuffle_words(text: str, rng: random.Random) -> str:
    words = text.split()
    rng.shuffle(words)
    return " ".join(words)


def _scramble(text: str, rng: random.Random) -> str:
    out = []
    for word in _shuffle_words(text, rng).split():
        chars = list(word)
        rng.shuffle(chars)
        out.append("".join(chars))
    return " ".join(out)


_TRANSFORMS = {"shuffled": _shuffle_words, "scrambled": _scramble}


def probe_text(kind: str, text: str, rng: random.Random) -> str:
    if kind not in _TRANSFORMS:
        raise ValueError(f"unknown probe {kind!r}; valid: {', '.join(PROBES)}")
    return _TRANSFORMS[kind](text, rng)


def keyword_reliance(model, tokenizer, examples: Sequence[Any], *, labels: Sequence[str],
                     seed: int = 0, threshold: float = 0.8, batch_size: int = 64) -> dict[str, Any]:
    """Run both probes; returns per-probe accuracy / kept fraction (overall and per class)."""
    gold = torch.tensor([int(ex.label) for ex in examples])
    has_pair = any(ex.pair is not None for ex in examples)
    texts = [ex.text for ex in examples]
    pairs = [ex.pair for ex in examples] if has_pair else None
    clean = batched_logits(model, tokenizer, texts, pairs, batch_size=batch_size).argmax(-1)
    report: dict[str, Any] = {"num_examples": len(examples),
                              "clean_accuracy": float((clean == gold).float().mean())}
    for kind in PROBES:
        rng = random.Random(f"{seed}|{kind}")
        p_texts = [probe_text(kind, t, rng) for t in texts]
        p_pairs = [probe_text(kind, p, rng) for p in pairs] if pairs else None
        pred = batched_logits(model, tokenizer, p_texts, p_pairs, batch_size=batch_size).argmax(-1)
        per_class = {
            labels[c]: {"accuracy": float((pred[gold == c] == c).float().mean()),
                        "kept": float((pred[gold == c] == clean[gold == c]).float().mean())}
            for c in range(len(labels)) if (gold == c).any()
        }
        report[kind] = {"accuracy": float((pred == gold).float().mean()),
                        "kept": float((pred == clean).float().mean()), "per_class": per_class,
                        "example": p_texts[0]}
    report["keyword_reliance"] = report["shuffled"]["kept"] >= threshold
    report["threshold"] = threshold
    return report
