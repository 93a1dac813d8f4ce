"""Common types for token-level explainers: one score per token, optional word merging."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch

from attribution.data import Example, encode
from attribution.errors import AttributionInputError
from attribution.model_loading import LoadedClassifier


@dataclass
class TokenExplanation:
    """Scores for one example. ``scores[i]`` belongs to ``tokens[i]`` (special tokens included)."""

    method: str
    tokens: list[str]
    scores: list[float]
    special: list[bool]  # True for [CLS]/[SEP]/<s>/... (never removed by faithfulness metrics)
    prediction: int
    target: int
    probabilities: list[float]
    words: list[str] | None = None  # filled when merge_wordpieces=True
    word_scores: list[float] | None = None  # sum of the word's pieces' scores

    def to_json(self) -> dict:
        out = {
            "method": self.method,
            "tokens": self.tokens,
            "scores": [round(s, 6) for s in self.scores],
            "special": self.special,
            "prediction": self.prediction,
            "target": self.target,
            "probabilities": self.probabilities,
        }
        if self.words is not None:
            out["words"] = self.words
            out["word_scores"] = [round(s, 6) for s in self.word_scores or []]
        return out


def resolve_target(target: str | int | Sequence[int], index: int, example: Example,
                   prediction: int, num_labels: int) -> int:
    """Map ``"predicted"`` | ``"gold"`` | int | list[int] to the class index for one example."""
    if target == "predicted":
        return prediction
    if target == "gold":
        if example.label is None:
            raise AttributionInputError("target='gold' needs labelled examples")
        return int(example.label)
    value = target if isinstance(target, int) else list(target)[index]  # type: ignore[arg-type]
    if not 0 <= int(value) < num_labels:
        raise AttributionInputError(f"target {value} outside 0..{num_labels - 1}")
    return int(value)


def merge_words(tokenizer, encoding, scores: list[float]) -> tuple[list[str], list[float]]:
    """Sum word-piece scores into words using the fast tokenizer's ``word_ids`` (specials dropped)."""
    word_ids = encoding.word_ids(0)
    seq_ids = encoding.sequence_ids(0)
    ids = encoding["input_ids"][0].tolist()
    groups: dict[tuple[int, int], list[int]] = {}
    for pos, (w, s) in enumerate(zip(word_ids, seq_ids, strict=True)):
        if w is not None:
            groups.setdefault((s, w), []).append(pos)
    words, merged = [], []
    for positions in groups.values():
        pieces = tokenizer.convert_ids_to_tokens([ids[p] for p in positions])
        words.append(tokenizer.convert_tokens_to_string(pieces).strip())
        merged.append(float(sum(scores[p] for p in positions)))
    return words, merged


class Explainer(ABC):
    """Base class: model state in the constructor, ``explain(examples, *, ...)`` per call."""

    name: ClassVar[str]

    def __init__(self, loaded: LoadedClassifier) -> None:
        self.loaded = loaded
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer

    def explain(
        self,
        examples: Example | Sequence[Example],
        *,
        target: str | int | Sequence[int] = "predicted",
        merge_wordpieces: bool = False,
        progress: Callable[[float], None] | None = None,
    ) -> list[TokenExplanation]:
        """Explain each example (one at a time, so no padding enters the scores)."""
        batch = [examples] if isinstance(examples, Example) else list(examples)
        if not batch:
            raise AttributionInputError("no examples to explain")
        if not isinstance(target, str | int) and len(list(target)) != len(batch):
            raise AttributionInputError("one target per example is needed")
        if isinstance(target, str) and target not in ("predicted", "gold"):
            raise AttributionInputError(f"target must be 'predicted', 'gold' or int, got {target!r}")
        out = []
        for i, example in enumerate(batch):
            enc = encode(self.tokenizer, [example], self.loaded.device)
            with torch.no_grad():
                probs = torch.softmax(self.model(**enc).logits.float(), -1)[0]  # (C,)
            pred = int(probs.argmax())
            tgt = resolve_target(target, i, example, pred, probs.shape[-1])
            scores = self.token_scores(enc, tgt, example=example).detach().float().cpu()  # (T,)
            ids = enc["input_ids"][0].tolist()
            special_ids = set(self.tokenizer.all_special_ids)
            expl = TokenExplanation(
                method=self.name,
                tokens=self.tokenizer.convert_ids_to_tokens(ids),
                scores=scores.tolist(),
                special=[t in special_ids for t in ids],
                prediction=pred,
                target=tgt,
                probabilities=probs.tolist(),
            )
            if merge_wordpieces:
                expl.words, expl.word_scores = merge_words(self.tokenizer, enc, expl.scores)
            out.append(expl)
            if progress is not None:
                progress((i + 1) / len(batch))
        return out

    @abstractmethod
    def token_scores(self, enc, target: int, *, example: Example | None = None) -> torch.Tensor:
        """Scores (T,) for one encoded example (batch of 1) and a target class."""


class AttentionMapExplainer(Explainer):
    """An explainer that reads only the attention probabilities of one plain forward pass."""

    def __init__(self, loaded: LoadedClassifier) -> None:
        from attribution.intervention import AttentionIntervention

        super().__init__(loaded)
        self.intervention = AttentionIntervention(loaded.model)

    @torch.no_grad()
    def attention(self, enc) -> torch.Tensor:
        """Every layer's probabilities for the (single) example in ``enc``: (L, H, T, T), float."""
        with self.intervention.capture() as cap:
            self.model(**enc)
        return torch.stack([p[0] for p in cap.probs]).float().cpu()  # (L, H, T, T)
