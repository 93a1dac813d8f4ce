"""Layer-wise linear probes: at which layer does a property become linearly decodable?

A probe is a logistic regression trained on one layer's representation of a sentence
(Conneau et al., "What you can cram into a single vector", ACL 2018, SentEval,
https://arxiv.org/abs/1805.01070; Lin et al., "Open Sesame", BlackboxNLP 2019). Every layer is
probed, the embedding output included (``hidden_states[0]``), on two sentence vectors: the first
token ([CLS] / <s>) and the mean of the non-padding tokens. Properties needing no annotation:

* ``label``: the task's gold label.
* ``length``: sentence length (whitespace words) in equal-frequency buckets.
* ``word_order``: original vs a shuffled copy (SentEval's BShift idea).
* ``negation``: a negation word is present.

Each probe is paired with a control task (Hewitt and Liang, "Designing and Interpreting Probes
with Control Tasks", EMNLP 2019, https://arxiv.org/abs/1909.03368): every word type gets a
random class drawn from the property's class distribution, and the probe is trained on those
labels with the same features; selectivity = task accuracy - control accuracy.

Departures: Hewitt and Liang's tasks are per token; ours are per sentence, so a sentence takes
the random class of its rarest word type in the sample (ties: alphabetical). A majority vote over
all its words was tried first: frequent words ("the", "a") then decide most sentences and the
control classes become lopsided, so control accuracy measured the majority rate, not lexical
memorisation; the rarest type is nearly always a content word, so control classes keep the
property's class distribution and stay a pure function of word identity. SentEval's BShift
swaps two adjacent words and its length task uses fixed bins; here the whole first segment is
shuffled (as the issue asks) and length buckets are the sample's quantiles (balanced classes). Accuracy is cross-validated (stratified k folds) and
reported on the pooled out-of-fold predictions with a 95% Wilson interval.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from attribution.data import Example, encode
from attribution.errors import AttributionInputError
from attribution.intervals import wilson
from common import registries

PROPERTIES = registries.PROBING_PROPERTIES
registries.check_implemented("probing property", ("label", "length", "negation", "word_order"))
POOLINGS = ("cls", "mean")
NEGATION_WORDS = frozenset(
    "not no never none nobody nothing neither nor nowhere cannot without n't isn't aren't wasn't "
    "weren't don't doesn't didn't can't couldn't won't wouldn't shouldn't hasn't haven't hadn't"
    .split()
)
_WORD = re.compile(r"[\w']+")


def words_of(text: str) -> list[str]:
    """Lower-cased word types of a text (letters, digits, apostrophes)."""
    return _WORD.findall(text.lower())


def has_negation(text: str) -> bool:
    """True when a negation word (``NEGATION_WORDS``, or a ``n't`` clitic) occurs."""
    return any(w in NEGATION_WORDS or w.endswith("n't") for w in words_of(text))


def length_buckets(texts: Sequence[str], buckets: int = 3) -> tuple[list[int], list[float]]:
    """Bucket index per text by whitespace word count; edges are the sample's quantiles."""
    counts = np.array([len(t.split()) for t in texts], dtype=float)
    edges = sorted(set(np.quantile(counts, np.linspace(0, 1, buckets + 1)[1:-1]).tolist()))
    return [int(np.searchsorted(edges, c, side="right")) for c in counts], edges


def shuffle_words(text: str, rng: random.Random) -> str | None:
    """The words of ``text`` in another order, or None when no other order exists."""
    words = text.split()
    if len(set(words)) < 2:
        return None
    out = list(words)
    while out == words:
        rng.shuffle(out)
    return " ".join(out)


def control_labels(texts: Sequence[str], labels: Sequence[int], *, seed: int) -> list[int]:
    """Hewitt-Liang control classes: one random class per word type (drawn from the empirical
    distribution of ``labels``); a sentence takes the class of its rarest word type."""
    rng = random.Random(seed)
    pool = list(labels)
    bags = [words_of(text) or [text] for text in texts]
    freq = Counter(w for bag in bags for w in set(bag))  # document frequency in the sample
    table: dict[str, int] = {}
    for w in sorted(freq):  # sorted: the draw does not depend on the example order
        table[w] = rng.choice(pool)
    return [table[min(bag, key=lambda w: (freq[w], w))] for bag in bags]


@dataclass
class ProbeScore:
    """Cross-validated accuracy of one probe (pooled out-of-fold predictions)."""

    accuracy: float
    n: int
    low: float
    high: float
    majority: float  # accuracy of always predicting the most frequent class
    folds: int

    def to_json(self) -> dict[str, Any]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def probe_accuracy(features: np.ndarray, y: Sequence[int], *, folds: int = 5, seed: int = 0,
                   c: float = 1.0) -> ProbeScore | None:
    """Stratified k-fold logistic regression on ``features`` (N, D); None if a class is too rare.

    Features are standardised inside each fold (the scaler is part of the fitted pipeline)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y_arr = np.asarray(y)
    counts = Counter(y_arr.tolist())
    k = min(folds, min(counts.values())) if len(counts) > 1 else 0
    if k < 2:
        return None
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    pred = cross_val_predict(probe, features, y_arr, cv=cv)
    correct = int((pred == y_arr).sum())
    low, high = wilson(correct, len(y_arr))
    return ProbeScore(correct / len(y_arr), len(y_arr), low, high,
                      max(counts.values()) / len(y_arr), k)


@dataclass
class PropertyProbe:
    """Per layer (0 = embeddings) and pooling: task probe, control probe, selectivity."""

    name: str
    classes: list[str]
    layers: list[dict[str, dict[str, Any]]] = field(default_factory=list)
    note: str = ""

    def accuracy(self, pooling: str) -> list[float]:
        return [layer[pooling]["task"].accuracy for layer in self.layers]

    def selectivity(self, pooling: str) -> list[float]:
        return [layer[pooling]["selectivity"] for layer in self.layers]

    def best_layer(self, pooling: str) -> int:
        return int(np.argmax(self.accuracy(pooling)))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "classes": self.classes, "note": self.note,
            "best_layer": {p: self.best_layer(p) for p in POOLINGS},
            "layers": [
                {p: {"task": d[p]["task"].to_json(), "control": d[p]["control"].to_json(),
                     "selectivity": round(d[p]["selectivity"], 4)} for p in POOLINGS}
                for d in self.layers
            ],
        }


def probe_layers(name: str, states: dict[str, np.ndarray], y: Sequence[int], texts: Sequence[str],
                 classes: list[str], *, folds: int = 5, seed: int = 0, note: str = "") -> PropertyProbe:
    """Probe every layer of ``states[pooling]`` (L+1, N, D) for ``y`` and its control task.

    Raises AttributionInputError when a class has fewer than two examples."""
    control = control_labels(texts, y, seed=seed)
    out = PropertyProbe(name, classes, note=note)
    num_layers = next(iter(states.values())).shape[0]
    for layer in range(num_layers):
        row: dict[str, dict[str, Any]] = {}
        for pooling, feats in states.items():
            task = probe_accuracy(feats[layer], y, folds=folds, seed=seed)
            if task is None:
                raise AttributionInputError(f"probe {name!r}: a class has fewer than 2 examples")
            ctrl = probe_accuracy(feats[layer], control, folds=folds, seed=seed)
            if ctrl is None:  # every word type drew one class: the control task is trivial
                ctrl = ProbeScore(1.0, len(control), *wilson(len(control), len(control)), 1.0, 0)
            row[pooling] = {"task": task, "control": ctrl,
                            "selectivity": task.accuracy - ctrl.accuracy}
        out.layers.append(row)
    return out


def sentence_states(model, tokenizer, examples: Sequence[Example], *, batch_size: int = 32,
                    device: torch.device | None = None) -> dict[str, np.ndarray]:
    """One forward per example with ``output_hidden_states``: {"cls", "mean"} -> (L+1, N, D)."""
    device = device or next(model.parameters()).device
    cls_parts, mean_parts = [], []
    with torch.inference_mode():
        for lo in range(0, len(examples), batch_size):
            enc = encode(tokenizer, examples[lo:lo + batch_size], device)
            hidden = model(**enc, output_hidden_states=True).hidden_states  # L+1 x (B, T, D)
            stack = torch.stack(hidden).float()  # (L+1, B, T, D)
            mask = enc["attention_mask"].to(stack)[None, :, :, None]  # (1, B, T, 1)
            cls_parts.append(stack[:, :, 0].cpu())  # (L+1, B, D)
            mean_parts.append(((stack * mask).sum(2) / mask.sum(2)).cpu())  # (L+1, B, D)
    return {"cls": torch.cat(cls_parts, 1).numpy(), "mean": torch.cat(mean_parts, 1).numpy()}


@dataclass
class ProbingReport:
    num_examples: int
    num_layers: int  # transformer layers; probes cover num_layers + 1 (embeddings first)
    properties: dict[str, PropertyProbe]
    skipped: dict[str, str]
    seconds: float
    folds: int = 5

    def to_json(self) -> dict[str, Any]:
        return {"num_examples": self.num_examples, "num_layers": self.num_layers,
                "layer_names": ["embeddings"] + [f"layer {i}" for i in range(1, self.num_layers + 1)],
                "properties": {k: v.to_json() for k, v in self.properties.items()},
                "skipped": self.skipped, "folds": self.folds, "seconds": round(self.seconds, 2)}


class LayerProber:
    """Probe a classifier's layers for ``PROPERTIES``.

    Args:
        model: a Hugging Face encoder classifier (eval mode); tokenizer: its tokenizer.
        labels: class names of the task (index -> name).
    """

    def __init__(self, model, tokenizer, labels: Sequence[str]):
        self.model = model
        self.tokenizer = tokenizer
        self.labels = list(labels)

    def probe(self, examples: Sequence[Example], *, properties: Sequence[str] = PROPERTIES,
              folds: int = 5, seed: int = 0, batch_size: int = 32,
              progress: Callable[[float], None] | None = None) -> ProbingReport:
        """Probe every layer for each property; a property whose classes are too rare is
        listed in ``skipped`` with the reason instead of failing the whole run."""
        unknown = [p for p in properties if p not in PROPERTIES]
        if unknown:
            raise AttributionInputError(
                f"unknown probing properties {unknown}; valid: {', '.join(PROPERTIES)}")
        if folds < 2:
            raise AttributionInputError("probing needs at least 2 cross-validation folds")
        if len(examples) < 2 * folds:
            raise AttributionInputError(
                f"probing needs at least {2 * folds} examples for {folds} folds, got {len(examples)}")
        start = time.perf_counter()
        examples = list(examples)
        states = sentence_states(self.model, self.tokenizer, examples, batch_size=batch_size)
        full = [ex.text if ex.pair is None else f"{ex.text} {ex.pair}" for ex in examples]
        out: dict[str, PropertyProbe] = {}
        skipped: dict[str, str] = {}
        for i, prop in enumerate(properties):
            try:
                got = self._one(prop, examples, full, states, folds, seed, batch_size)
            except AttributionInputError as exc:
                skipped[prop] = str(exc)
            else:
                if isinstance(got, str):
                    skipped[prop] = got
                else:
                    out[prop] = got
            if progress:
                progress((i + 1) / len(properties))
        return ProbingReport(len(examples), states["cls"].shape[0] - 1, out, skipped,
                             time.perf_counter() - start, folds)

    def _one(self, prop: str, examples: list[Example], full: list[str],
             states: dict[str, np.ndarray], folds: int, seed: int,
             batch_size: int) -> PropertyProbe | str:
        if prop == "label":
            if any(ex.label is None for ex in examples):
                return "the data has unlabelled examples"
            y = [int(ex.label) for ex in examples]  # type: ignore[arg-type]
            return probe_layers(prop, states, y, full, self.labels, folds=folds, seed=seed)
        if prop == "length":
            y, edges = length_buckets(full)
            bounds = [float("-inf"), *edges, float("inf")]
            classes = [f"{lo:g} <= words < {hi:g}" for lo, hi in zip(bounds, bounds[1:], strict=False)]
            return probe_layers(prop, states, y, full, classes[: max(y) + 1], folds=folds,
                                seed=seed, note=f"bucket edges (words): {edges}")
        if prop == "negation":
            y = [int(has_negation(t)) for t in full]
            return probe_layers(prop, states, y, full, ["no negation", "negation"], folds=folds,
                                seed=seed)
        # word_order: half the examples (seeded) replaced by a copy with a shuffled first segment
        rng = random.Random(f"{seed}|word_order")
        chosen = sorted(rng.sample(range(len(examples)), len(examples) // 2))
        swapped: list[tuple[int, Example]] = []
        for i in chosen:
            text = shuffle_words(examples[i].text, rng)
            if text is not None:
                swapped.append((i, Example(text, examples[i].pair, examples[i].label)))
        if not swapped:
            return "no example has two distinct words to reorder"
        shuffled = sentence_states(self.model, self.tokenizer, [e for _, e in swapped],
                                   batch_size=batch_size)
        mixed = {k: v.copy() for k, v in states.items()}
        y = [0] * len(examples)
        texts = list(full)
        for j, (i, ex) in enumerate(swapped):
            for k in mixed:
                mixed[k][:, i] = shuffled[k][:, j]
            y[i] = 1
            texts[i] = ex.text if ex.pair is None else f"{ex.text} {ex.pair}"
        return probe_layers(prop, mixed, y, texts, ["original", "shuffled"], folds=folds,
                            seed=seed, note="first segment's words shuffled in half the examples")
