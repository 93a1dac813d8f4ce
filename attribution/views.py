"""Views derived from AttAttr scores: head sums, top token connections, head importance.

Hao et al., AAAI 2021 (https://arxiv.org/abs/2004.11207). ``scores[l, h, i, j]`` attributes the
attention of query token i to key token j; information flows from j into i, so a connection's
``src`` is the key j and its ``dst`` the query i (the direction of the paper's attribution tree).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from attribution.attribution_result import AttributionResult
from attribution.errors import AttributionInputError

SPECIAL = {"[CLS]", "[SEP]", "[PAD]", "<s>", "</s>", "<pad>", "[MASK]", "<mask>"}


@dataclass
class Connection:
    """One attributed token pair: attention from ``dst`` (query) to ``src`` (key)."""

    layer: int
    head: int | None  # None: summed over heads
    src: int
    dst: int
    src_token: str
    dst_token: str
    score: float
    src_word: int | None
    dst_word: int | None


def head_summed(result: AttributionResult) -> Tensor:
    """Scores summed over heads: (L, T, T)."""
    return result.scores.sum(dim=1)


def word_ids(tokens: Sequence[str]) -> list[int | None]:
    """Word index of every token (None for special tokens), from the tokens' own markers:
    WordPiece continues a word with ``##``; byte-level BPE (``Ġ``) and SentencePiece (``▁``)
    start a word with their marker (and after a special token)."""
    marker = next((m for m in ("Ġ", "▁") if any(t.startswith(m) for t in tokens)), None)
    out: list[int | None] = []
    word, prev_special = -1, True
    for tok in tokens:
        if tok in SPECIAL:
            out.append(None)
            prev_special = True
            continue
        starts = (tok.startswith(marker) or prev_special) if marker else not tok.startswith("##")
        word += 1 if starts or word < 0 else 0
        out.append(word)
        prev_special = False
    return out


def _units(tokens: Sequence[str]) -> tuple[list[list[int]], list[str], list[int | None]]:
    """Group token positions into words (special tokens stay alone): positions, text, word id."""
    ids = word_ids(tokens)
    groups: list[list[int]] = []
    for pos, w in enumerate(ids):
        if w is not None and groups and ids[groups[-1][0]] == w:
            groups[-1].append(pos)
        else:
            groups.append([pos])
    text = ["".join(tokens[p].removeprefix("##").lstrip("Ġ▁") if k else tokens[p].lstrip("Ġ▁")
                    for k, p in enumerate(g)) if ids[g[0]] is not None else tokens[g[0]]
            for g in groups]
    return groups, text, [ids[g[0]] for g in groups]


def top_connections(
    result: AttributionResult,
    *,
    k: int = 5,
    layer: int | None = None,
    head: int | None = None,
    merge_wordpieces: bool = False,
) -> list[Connection]:
    """The ``k`` highest-scoring (src, dst) pairs, best first.

    Args:
        layer: one layer, or None to rank pairs of every layer together.
        head: one head, or None for scores summed over heads.
        merge_wordpieces: sum scores over the word pieces of each word; ``src``/``dst`` are then
            the first token position of each word and the tokens the joined words.
    """
    L, H = result.scores.shape[:2]
    if layer is not None and not 0 <= layer < L:
        raise AttributionInputError(f"layer {layer} out of range 0..{L - 1}")
    if head is not None and not 0 <= head < H:
        raise AttributionInputError(f"head {head} out of range 0..{H - 1}")
    if k < 1:
        raise AttributionInputError("k must be at least 1")
    grid = result.scores.sum(1) if head is None else result.scores[:, head]  # (L, T, T)
    layers = range(L) if layer is None else [layer]
    tokens = list(result.tokens)
    word = word_ids(tokens)
    starts = list(range(len(tokens)))
    if merge_wordpieces:
        groups, tokens, word = _units(tokens)
        starts = [g[0] for g in groups]
        onehot = torch.zeros(len(groups), grid.shape[-1])  # (U, T)
        for u, g in enumerate(groups):
            onehot[u, g] = 1.0
        grid = onehot @ grid @ onehot.T  # (L, U, U)
    sel = grid[list(layers)]  # (L', U, U)
    flat = sel.flatten()
    top = torch.topk(flat, min(k, flat.numel())).indices.tolist()
    n = sel.shape[-1]
    out = []
    for idx in top:
        li, rem = divmod(idx, n * n)
        dst, src = divmod(rem, n)  # row = query (dst), column = key (src)
        out.append(Connection(
            layer=list(layers)[li], head=head, src=starts[src], dst=starts[dst],
            src_token=tokens[src], dst_token=tokens[dst], score=float(flat[idx]),
            src_word=word[src], dst_word=word[dst],
        ))
    return out


def head_importance_attattr(engine, examples, **kw) -> Tensor:
    """Head importance by attribution (paper Eq. 6): I_h = E_x[max_{i,j} Attr_h(A_l)[i, j]].

    The gradient target is the gold label (as in the paper; every example needs one) unless
    ``target`` is given. Other keywords go to ``engine.attribute``. Returns (L, H) float32.
    """
    kw.setdefault("target", "gold")
    results = engine.attribute(examples, **kw)
    per_example = torch.stack([r.scores.flatten(2).amax(-1) for r in results])  # (N, L, H)
    return per_example.mean(0)
