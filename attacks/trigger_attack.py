"""Non-targeted trigger attack, evaluated in batches directly on the model.

Paper: Hao et al., AAAI 2021, section 4.4 (https://arxiv.org/abs/2004.11207) reports, per
gold class, the accuracy before and after inserting a mined pattern. This module measures, for
each trigger: per-class clean and triggered accuracy, the drop, the attack success rate
(fraction of correctly classified inputs whose prediction changes) and keeps the flipped
examples. All triggered inputs of all triggers go through one sorted, dynamically padded
batch loop (``attacks.batched_forward``), never one query per example.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from attacks.batched_forward import batched_logits
from attacks.trigger_file import Trigger, TriggerFileError
from attacks.trigger_insertion import insert_into_texts, trigger_rng


@dataclass
class ClassAccuracy:
    label: int
    label_name: str
    num_examples: int
    clean_accuracy: float
    triggered_accuracy: float
    triggered_predictions: dict[str, int] = field(default_factory=dict)  # label -> count

    @property
    def drop(self) -> float:
        return self.clean_accuracy - self.triggered_accuracy


@dataclass
class TriggerAttackResult:
    trigger: Trigger
    rank: int
    per_class: list[ClassAccuracy]
    clean_accuracy: float
    triggered_accuracy: float
    num_correct: int
    num_flipped: int
    pushed_toward: dict[str, int]
    flipped: list[dict[str, Any]] = field(default_factory=list)
    # per attacked example, in input order (not serialised): the triggered prediction and the
    # edited (text, pair); read by ``attacks.trigger_kinds`` for judged drops and paired intervals
    predictions: list[int] = field(default_factory=list, repr=False)
    edited: list[tuple[str, str | None]] = field(default_factory=list, repr=False)

    @property
    def attack_success_rate(self) -> float:
        return self.num_flipped / self.num_correct if self.num_correct else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "trigger": self.trigger.to_json(),
            "clean_accuracy": self.clean_accuracy,
            "triggered_accuracy": self.triggered_accuracy,
            "accuracy_drop": self.clean_accuracy - self.triggered_accuracy,
            "attack_success_rate": self.attack_success_rate,
            "num_correct": self.num_correct,
            "num_flipped": self.num_flipped,
            "pushed_toward": self.pushed_toward,
            "per_class": [{**asdict(c), "drop": c.drop} for c in self.per_class],
            "flipped": self.flipped,
        }


@dataclass
class TriggerAttackReport:
    labels: list[str]
    num_examples: int
    results: list[TriggerAttackResult]
    num_queries: int
    seconds: float
    gold: list[int] = field(default_factory=list, repr=False)  # per example (not serialised)
    clean_predictions: list[int] = field(default_factory=list, repr=False)
    originals: list[tuple[str, str | None]] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "num_examples": self.num_examples,
            "num_queries": self.num_queries,
            "seconds": self.seconds,
            "results": [r.to_json() for r in self.results],
        }


def _accuracy(mask: torch.Tensor) -> float:
    return int(mask.sum()) / mask.numel() if mask.numel() else 0.0


def evaluate_triggers(
    model,
    tokenizer,
    examples: Sequence[Any],
    triggers: Sequence[Trigger],
    *,
    labels: Sequence[str] | None = None,
    position: str | None = None,
    batch_size: int = 64,
    seed: int = 0,
    keep_flipped: int | None = 50,
    device: torch.device | str | None = None,
    progress: Callable[[float], None] | None = None,
) -> TriggerAttackReport:
    """Attack every example with every trigger; per-class accuracy, drop and success rate.

    Args:
        examples: objects with ``text``, ``pair`` and an integer gold ``label``.
        triggers: ranked triggers; ``position`` overrides each trigger's own rule.
        keep_flipped: at most this many flipped examples kept per trigger (None: all).
    """
    if not examples:
        raise TriggerFileError("no examples to attack")
    if not triggers:
        raise TriggerFileError("no triggers to evaluate")
    if any(getattr(ex, "label", None) is None for ex in examples):
        raise TriggerFileError("every attacked example needs a gold label")
    t0 = time.perf_counter()
    num_labels = model.config.num_labels
    names = list(labels) if labels else [str(model.config.id2label.get(i, i)) for i in range(num_labels)]
    gold = torch.tensor([int(ex.label) for ex in examples])
    if int(gold.max()) >= num_labels or int(gold.min()) < 0:
        raise TriggerFileError(f"gold labels must lie in 0..{num_labels - 1}")

    texts = [ex.text for ex in examples]
    pairs = [ex.pair for ex in examples]
    for k, trig in enumerate(triggers):
        for ex in examples:
            rng = trigger_rng(seed, k, ex.text, ex.pair)
            t, p = insert_into_texts(ex.text, ex.pair, trig, position=position, rng=rng)
            texts.append(t)
            pairs.append(p)
    any_pair = any(p is not None for p in pairs)
    preds = batched_logits(model, tokenizer, texts, pairs if any_pair else None,
                           batch_size=batch_size, device=device, progress=progress).argmax(-1)
    n = len(examples)
    clean = preds[:n]
    clean_ok = clean == gold
    results = []
    for k, trig in enumerate(triggers):
        trig_pred = preds[n * (k + 1) : n * (k + 2)]
        trig_ok = trig_pred == gold
        flipped_mask = clean_ok & (trig_pred != clean)
        per_class = [
            ClassAccuracy(c, names[c], int((gold == c).sum()),
                          _accuracy(clean_ok[gold == c]), _accuracy(trig_ok[gold == c]),
                          dict(Counter(names[int(p)] for p in trig_pred[gold == c])))
            for c in range(num_labels)
        ]
        idx = flipped_mask.nonzero().flatten().tolist()
        kept = idx if keep_flipped is None else idx[:keep_flipped]
        flipped = [
            {"index": i, "text": examples[i].text, "pair": examples[i].pair,
             "triggered_text": texts[n * (k + 1) + i], "triggered_pair": pairs[n * (k + 1) + i],
             "gold": int(gold[i]), "clean_prediction": int(clean[i]),
             "triggered_prediction": int(trig_pred[i])}
            for i in kept
        ]
        pushed = Counter(names[int(trig_pred[i])] for i in idx)
        results.append(TriggerAttackResult(
            trigger=trig, rank=k, per_class=per_class,
            clean_accuracy=_accuracy(clean_ok), triggered_accuracy=_accuracy(trig_ok),
            num_correct=int(clean_ok.sum()), num_flipped=len(idx),
            pushed_toward=dict(pushed), flipped=flipped, predictions=trig_pred.tolist(),
            edited=list(zip(texts[n * (k + 1) : n * (k + 2)], pairs[n * (k + 1) : n * (k + 2)], strict=True)),
        ))
    return TriggerAttackReport(labels=names, num_examples=n, results=results,
                               num_queries=len(texts), seconds=time.perf_counter() - t0,
                               gold=gold.tolist(), clean_predictions=clean.tolist(),
                               originals=list(zip(texts[:n], pairs[:n], strict=True)))
