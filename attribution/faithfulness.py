"""Faithfulness of token explanations: ERASER comprehensiveness/sufficiency, AOPC, Kendall tau.

- Comprehensiveness and sufficiency: DeYoung et al. 2020, "ERASER: A Benchmark to Evaluate
  Rationalized NLP Models" (https://arxiv.org/abs/1911.03429). For a bin of k% the top-k%
  tokens by the explainer's score are removed (comprehensiveness = p(y|x) - p(y|x \\ r)) or
  are the only ones kept (sufficiency = p(y|x) - p(y|r)); AOPC is the mean over the bins
  (1, 5, 10, 20, 50% by default). Higher comprehensiveness and lower sufficiency are better.
- Kendall tau against leave-one-out importance (p(y|x) - p(y|x with token i removed)) and
  between two explainers, e.g. attention vs gradient (Jain and Wallace 2019, "Attention is not
  Explanation", https://arxiv.org/abs/1902.10186): mean, std and fraction with p < 0.05 over the
  examples where tau is defined; examples with a constant ranking (tau undefined) are counted
  and named, not averaged as NaN.

Departures from ERASER: tokens are not deleted; they are *replaced* by the tokenizer's mask
token (``removal="mask"``, the default) or pad token (``removal="pad"``), so positions and
sequence length stay fixed and special tokens ([CLS], [SEP]) are never removed. Bin sizes
are ``ceil(fraction * n)`` of the n non-special tokens (at least one). Scores are word-piece
level. The ranking orders explainers by AOPC(comprehensiveness) - AOPC(sufficiency).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from scipy.stats import kendalltau

from attribution.data import Example, encode
from attribution.errors import AttributionInputError
from attribution.explainers.base import TokenExplanation
from attribution.model_loading import LoadedClassifier

DEFAULT_BINS = (0.01, 0.05, 0.10, 0.20, 0.50)


def bin_sizes(n: int, bins: Sequence[float]) -> list[int]:
    """Number of tokens in each bin: ceil(fraction * n), at least 1, at most n."""
    return [min(n, max(1, math.ceil(f * n - 1e-9))) for f in bins]


def ranked_positions(scores: Sequence[float], special: Sequence[bool]) -> list[int]:
    """Non-special positions, highest score first (ties by position)."""
    cand = [i for i, s in enumerate(special) if not s]
    return sorted(cand, key=lambda i: (-scores[i], i))


@dataclass
class TauSummary:
    """Kendall tau over examples: mean, std and fraction with p < 0.05 over the ``n`` examples where
    tau is defined, out of ``n_total``.

    Tau is undefined (scipy returns NaN) when either ranking is constant, e.g. leave-one-out
    importance of a saturated model whose probability does not move when any one token is masked,
    or when an example has fewer than two tokens. Such examples are counted in ``undefined``
    (reason -> count) and left out of the mean; ``note`` says so in words, and the statistics are
    ``None`` (never NaN) when no example has a defined tau.
    """

    mean: float | None
    std: float | None
    frac_significant: float | None  # fraction of the n examples with p < 0.05
    n: int  # examples where tau is defined
    n_total: int = 0
    undefined: dict[str, int] = field(default_factory=dict)  # reason -> examples

    @property
    def note(self) -> str:
        """'' when tau is defined everywhere, else e.g. 'undefined for 3 of 8 examples: constant
        leave-one-out'."""
        if not self.undefined:
            return ""
        k = sum(self.undefined.values())
        why = ", ".join(f"{r} ({c})" if len(self.undefined) > 1 else r for r, c in self.undefined.items())
        return f"undefined for {k} of {self.n_total} examples: {why}"

    def to_json(self) -> dict:
        return {"mean": self.mean, "std": self.std, "frac_significant": self.frac_significant,
                "n": self.n, "n_total": self.n_total, "undefined": dict(self.undefined),
                "note": self.note}

    @classmethod
    def from_pairs(
        cls,
        pairs: Sequence[tuple[Sequence[float], Sequence[float]]],
        names: tuple[str, str] = ("explainer scores", "leave-one-out"),
    ) -> TauSummary:
        """``pairs``: per example, (first ranking, second ranking); ``names`` name them in reasons."""
        taus, ps = [], []
        undefined: dict[str, int] = {}
        for a, b in pairs:
            if len(a) < 2:
                reason = "fewer than two tokens"
            elif len(set(b)) < 2:
                reason = f"constant {names[1]}"
            elif len(set(a)) < 2:
                reason = f"constant {names[0]}"
            else:
                tau, p = kendalltau(a, b)
                if not np.isnan(tau):
                    taus.append(float(tau))
                    ps.append(float(p))
                    continue
                reason = "not computable"
            undefined[reason] = undefined.get(reason, 0) + 1
        if not taus:
            return cls(None, None, None, 0, len(pairs), undefined)
        return cls(float(np.mean(taus)), float(np.std(taus)),
                   float(np.mean(np.array(ps) < 0.05)), len(taus), len(pairs), undefined)


@dataclass
class MethodFaithfulness:
    method: str
    comprehensiveness: list[float]  # mean over examples, one per bin
    sufficiency: list[float]
    aopc_comprehensiveness: float
    aopc_sufficiency: float
    tau_loo: TauSummary | None
    # per example: the mean over bins (their means are the two AOPC figures above), for intervals
    aopc_comprehensiveness_per_example: list[float] = field(default_factory=list)
    aopc_sufficiency_per_example: list[float] = field(default_factory=list)


@dataclass
class FaithfulnessReport:
    bins: list[float]
    removal: str
    removal_token: str
    num_examples: int
    methods: list[MethodFaithfulness]
    ranking: list[str]
    pairwise_tau: dict[str, TauSummary] = field(default_factory=dict)  # "a~b" -> tau

    def to_json(self) -> dict:
        out = asdict(self)
        for m, method in zip(out["methods"], self.methods, strict=True):
            m["tau_loo"] = method.tau_loo.to_json() if method.tau_loo else None
        out["pairwise_tau"] = {k: v.to_json() for k, v in self.pairwise_tau.items()}
        return out


class FaithfulnessEvaluator:
    """Score explanations of one classifier by perturbing its inputs."""

    def __init__(self, loaded: LoadedClassifier) -> None:
        self.loaded = loaded
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer

    def _removal_id(self, removal: str) -> tuple[int, str]:
        tok = self.tokenizer
        if removal == "mask" and tok.mask_token_id is not None:
            return tok.mask_token_id, tok.mask_token
        if removal in ("mask", "pad") and tok.pad_token_id is not None:
            return tok.pad_token_id, tok.pad_token
        raise AttributionInputError(f"removal must be 'mask' or 'pad' with such a token, got {removal!r}")

    @torch.no_grad()
    def _probs(self, enc, variants: torch.Tensor, target: int, batch_size: int) -> torch.Tensor:
        """Target probability for each row of ``variants`` (N, T) of input ids."""
        out = []
        for start in range(0, variants.shape[0], batch_size):
            ids = variants[start:start + batch_size]  # (b, T)
            rep = {k: v.expand(ids.shape[0], -1) for k, v in enc.items() if k != "input_ids"}
            logits = self.model(input_ids=ids, **rep).logits.float()
            out.append(torch.softmax(logits, -1)[:, target])
        return torch.cat(out).cpu()

    def evaluate(
        self,
        examples: Sequence[Example],
        explanations: Mapping[str, Sequence[TokenExplanation]],
        *,
        bins: Sequence[float] = DEFAULT_BINS,
        removal: str = "mask",
        loo: bool = True,
        pairs: Sequence[tuple[str, str]] = (("attention", "grad_input"),),
        batch_size: int = 64,
        progress: Callable[[float], None] | None = None,
    ) -> FaithfulnessReport:
        """Comprehensiveness/sufficiency per bin, AOPC, Kendall tau vs leave-one-out."""
        if not explanations:
            raise AttributionInputError("no explanations to score")
        for name, expl in explanations.items():
            if len(expl) != len(examples):
                raise AttributionInputError(f"{name}: {len(expl)} explanations for {len(examples)} examples")
        if not bins or any(not 0 < f <= 1 for f in bins):
            raise AttributionInputError(f"bins must be fractions in (0, 1], got {list(bins)}")
        rid, rtok = self._removal_id(removal)
        comp = {m: np.zeros(len(bins)) for m in explanations}
        suff = {m: np.zeros(len(bins)) for m in explanations}
        loo_pairs: dict[str, list] = {m: [] for m in explanations}
        per_ex: dict[str, dict[str, list[float]]] = {m: {"c": [], "s": []} for m in explanations}
        for idx, example in enumerate(examples):
            enc = encode(self.tokenizer, [example], self.loaded.device)
            ids = enc["input_ids"][0]  # (T,)
            first = next(iter(explanations.values()))[idx]
            if len(first.tokens) != ids.shape[0]:
                raise AttributionInputError(f"example {idx}: explanation tokens do not match the encoding")
            target, special = first.target, first.special
            p_full = float(self._probs(enc, ids[None], target, batch_size)[0])
            variants, slots = [], []
            keep_special = torch.tensor(special, device=ids.device)
            for name in explanations:
                order = ranked_positions(explanations[name][idx].scores, special)
                for b, k in enumerate(bin_sizes(len(order), bins)):
                    top = torch.tensor(order[:k], device=ids.device)
                    removed = ids.clone()
                    removed[top] = rid
                    kept = torch.where(keep_special, ids, torch.full_like(ids, rid))
                    kept[top] = ids[top]
                    variants += [removed, kept]
                    slots += [(name, b, "c"), (name, b, "s")]
            nonspecial = [i for i, s in enumerate(special) if not s]
            if loo:
                for i in nonspecial:
                    v = ids.clone()
                    v[i] = rid
                    variants.append(v)
            probs = self._probs(enc, torch.stack(variants), target, batch_size)  # (N,)
            sums = {(name, kind): 0.0 for name in explanations for kind in "cs"}
            for (name, b, kind), p in zip(slots, probs[: len(slots)].tolist(), strict=True):
                (comp if kind == "c" else suff)[name][b] += p_full - p
                sums[name, kind] += p_full - p
            for (name, kind), total in sums.items():
                per_ex[name][kind].append(total / len(bins))
            if loo:
                loo_scores = (p_full - probs[len(slots):]).tolist()
                for name in explanations:
                    sc = explanations[name][idx].scores
                    loo_pairs[name].append(([sc[i] for i in nonspecial], loo_scores))
            if progress is not None:
                progress((idx + 1) / len(examples))
        n = len(examples)
        methods = []
        for name in explanations:
            c, s = (comp[name] / n).tolist(), (suff[name] / n).tolist()
            methods.append(MethodFaithfulness(
                name, c, s, float(np.mean(c)), float(np.mean(s)),
                TauSummary.from_pairs(loo_pairs[name]) if loo else None,
                per_ex[name]["c"], per_ex[name]["s"],
            ))
        ranking = [m.method for m in sorted(
            methods, key=lambda m: -(m.aopc_comprehensiveness - m.aopc_sufficiency))]
        pairwise = {}
        for a, b in pairs:
            if a in explanations and b in explanations:
                pairwise[f"{a}~{b}"] = tau_between(explanations[a], explanations[b], names=(a, b))
        return FaithfulnessReport(list(bins), removal, rtok, n, methods, ranking, pairwise)


def tau_between(
    a: Sequence[TokenExplanation],
    b: Sequence[TokenExplanation],
    names: tuple[str, str] = ("first explainer", "second explainer"),
) -> TauSummary:
    """Kendall tau between two explainers over the non-special tokens of each example."""
    pairs = []
    for ea, eb in zip(a, b, strict=True):
        keep = [i for i, s in enumerate(ea.special) if not s]
        pairs.append(([ea.scores[i] for i in keep], [eb.scores[i] for i in keep]))
    return TauSummary.from_pairs(pairs, names=(f"{names[0]} scores", f"{names[1]} scores"))
