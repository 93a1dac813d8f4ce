"""Per-head attention pattern statistics.

Clark et al. 2019, "What Does BERT Look At? An Analysis of BERT's Attention"
(https://arxiv.org/abs/1906.04341): average attention to [CLS], to [SEP], to punctuation, to
the token itself, to the next and previous token, and the entropy of each attention row.

Averages are over all query tokens of all examples (token-weighted, as in the paper); next
and previous use only the queries that have such a neighbour. Entropy is in nats. The [CLS]
and [SEP] categories are the tokenizer's ``cls_token``/``sep_token`` (``<s>``/``</s>`` for
RoBERTa); punctuation is a token made only of ``string.punctuation`` characters.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from attribution.data import Example, encode
from attribution.errors import AttributionInputError
from attribution.intervention import AttentionIntervention
from attribution.model_loading import LoadedClassifier

STATS = ("cls", "sep", "punct", "self", "next", "prev", "entropy")
_PUNCT = set(string.punctuation)


def is_punct(token: str) -> bool:
    core = token.removeprefix("##").lstrip("Ġ▁")
    return bool(core) and all(c in _PUNCT for c in core)


def pattern_sums(probs: torch.Tensor, tokens: Sequence[str], *, cls_token: str,
                 sep_token: str) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
    """Sums over query rows of each statistic for one example; probs (L, H, T, T)."""
    seq = probs.shape[-1]
    if len(tokens) != seq:
        raise AttributionInputError(f"{len(tokens)} tokens for attention over {seq} positions")
    p = probs.double()
    cls = torch.tensor([t == cls_token for t in tokens], dtype=torch.float64)  # (T,)
    sep = torch.tensor([t == sep_token for t in tokens], dtype=torch.float64)
    punct = torch.tensor([is_punct(t) for t in tokens], dtype=torch.float64)
    idx = torch.arange(seq)
    ent = -(p * torch.log(p.clamp_min(1e-12))).sum(-1)  # (L, H, T)
    sums = {
        "cls": (p @ cls).sum(-1),  # (L, H)
        "sep": (p @ sep).sum(-1),
        "punct": (p @ punct).sum(-1),
        "self": p[..., idx, idx].sum(-1),
        "next": p[..., idx[:-1], idx[:-1] + 1].sum(-1),
        "prev": p[..., idx[1:], idx[1:] - 1].sum(-1),
        "entropy": ent.sum(-1),
    }
    counts = {k: seq for k in sums} | {"next": seq - 1, "prev": seq - 1}
    return sums, counts


@dataclass
class HeadPatterns:
    """Per-head statistics, each (L, H), averaged over query tokens of all examples."""

    stats: dict[str, torch.Tensor]
    num_examples: int
    num_tokens: int

    def to_json(self) -> dict:
        return {
            "num_examples": self.num_examples,
            "num_tokens": self.num_tokens,
            "stats": {k: [[round(float(x), 6) for x in row] for row in v] for k, v in self.stats.items()},
        }


class AttentionPatterns:
    """Collect Clark et al. statistics for every head of a classifier."""

    def __init__(self, loaded: LoadedClassifier) -> None:
        self.loaded = loaded
        self.intervention = AttentionIntervention(loaded.model)

    @torch.no_grad()
    def compute(self, examples: Sequence[Example], *,
                progress: Callable[[float], None] | None = None) -> HeadPatterns:
        if not examples:
            raise AttributionInputError("no examples for attention statistics")
        tok = self.loaded.tokenizer
        total: dict[str, torch.Tensor] = {}
        counts = dict.fromkeys(STATS, 0)
        tokens_seen = 0
        for i, ex in enumerate(examples):
            enc = encode(tok, [ex], self.loaded.device)
            with self.intervention.capture() as cap:
                self.loaded.model(**enc)
            probs = torch.stack([a[0] for a in cap.probs]).cpu()  # (L, H, T, T)
            tokens = tok.convert_ids_to_tokens(enc["input_ids"][0].tolist())
            sums, cnt = pattern_sums(probs, tokens, cls_token=tok.cls_token or tok.bos_token,
                                     sep_token=tok.sep_token or tok.eos_token)
            for k in STATS:
                total[k] = total.get(k, 0) + sums[k]
                counts[k] += cnt[k]
            tokens_seen += len(tokens)
            if progress is not None:
                progress((i + 1) / len(examples))
        stats = {k: (total[k] / max(counts[k], 1)).float() for k in STATS}
        return HeadPatterns(stats, len(examples), tokens_seen)
