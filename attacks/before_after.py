"""Before/after robustness of two models on the same examples: clean accuracy, trigger drops,
the universal-trigger drop, per class with 95% intervals.

Used to show whether hardening worked. Three attackers are measured on both models:

* the old triggers (mined on the model before hardening, the ones it was trained against);
* new triggers mined ANEW on the hardened model: an adaptive attacker, so a model that merely
  memorised the old triggers is not called robust (the caller mines them; mining needs the
  attribution engine and the audit's mining slice);
* the universal adversarial trigger (Wallace et al., EMNLP 2019), searched separately against
  each model by HotFlip (``attacks.universal_trigger``).

Every accuracy is reported as k/n with a Wilson interval; every drop (clean accuracy minus
triggered accuracy on the same rows) with Newcombe's hybrid score interval, which treats the two
accuracies as independent and is therefore conservative for these paired measurements.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from attacks.batched_forward import batched_logits
from attacks.trigger_attack import TriggerAttackResult, evaluate_triggers
from attacks.trigger_file import Trigger
from attacks.universal_trigger import universal_trigger
from attribution.intervals import difference_interval, rate


def _count(acc: float, n: int) -> int:
    return int(round(acc * n))


def drop_row(result: TriggerAttackResult) -> dict[str, Any]:
    """One trigger on one model: overall and per-class accuracies and drops with intervals."""
    n = sum(c.num_examples for c in result.per_class)
    k_clean, k_trig = _count(result.clean_accuracy, n), _count(result.triggered_accuracy, n)
    low, high = difference_interval(k_clean, n, k_trig, n)
    per_class = []
    for c in result.per_class:
        kc, kt = _count(c.clean_accuracy, c.num_examples), _count(c.triggered_accuracy, c.num_examples)
        lo, hi = difference_interval(kc, c.num_examples, kt, c.num_examples) if c.num_examples else (0.0, 0.0)
        per_class.append({"label": c.label_name, "n": c.num_examples,
                          "clean": rate(kc, c.num_examples), "triggered": rate(kt, c.num_examples),
                          "drop": round(c.drop, 4), "drop_low": round(lo, 4), "drop_high": round(hi, 4)})
    worst = max(per_class, key=lambda r: r["drop"])
    return {"n": n, "clean": rate(k_clean, n), "triggered": rate(k_trig, n),
            "drop": round(result.clean_accuracy - result.triggered_accuracy, 4),
            "drop_low": round(low, 4), "drop_high": round(high, 4),
            "success_rate": rate(result.num_flipped, result.num_correct),
            "worst_class": worst["label"], "worst_class_drop": worst["drop"],
            "worst_class_drop_low": worst["drop_low"], "worst_class_drop_high": worst["drop_high"],
            "per_class": per_class}


def trigger_table(models: dict[str, tuple[Any, Any]], examples: Sequence[Any],
                  triggers: Sequence[Trigger], *, labels: Sequence[str], seed: int = 0,
                  batch_size: int = 64, extra: Sequence[dict[str, Any]] | None = None) -> list[dict]:
    """Each trigger measured on each named (model, tokenizer): ``[{tokens, ..., by model}]``."""
    if not triggers:
        return []
    rows = [{"tokens": list(t.tokens), "position": t.position,
             "pushed_label": t.pushed_label_name, **(dict(extra[i]) if extra else {})}
            for i, t in enumerate(triggers)]
    for name, (model, tok) in models.items():
        report = evaluate_triggers(model, tok, examples, list(triggers), labels=labels, seed=seed,
                                   batch_size=batch_size, keep_flipped=0)
        for row, res in zip(rows, report.results, strict=True):
            row[name] = drop_row(res)
    return rows


def clean_accuracy(model, tokenizer, examples: Sequence[Any], *, labels: Sequence[str],
                   batch_size: int = 64) -> dict[str, Any]:
    """Clean accuracy overall and per class (k/n with Wilson intervals)."""
    pairs = [ex.pair for ex in examples]
    logits = batched_logits(model, tokenizer, [ex.text for ex in examples],
                            pairs if any(p is not None for p in pairs) else None,
                            batch_size=batch_size)
    pred = logits.argmax(-1).tolist()
    gold = [int(ex.label) for ex in examples]
    ok = [p == g for p, g in zip(pred, gold, strict=True)]
    per_class = []
    for c, name in enumerate(labels):
        idx = [i for i, g in enumerate(gold) if g == c]
        per_class.append({"label": name, **rate(sum(ok[i] for i in idx), len(idx))})
    return {"overall": rate(sum(ok), len(ok)), "per_class": per_class}


def universal_comparison(models: dict[str, tuple[Any, Any]], search: Sequence[Any],
                         examples: Sequence[Any], *, labels: Sequence[str], length: int = 3,
                         iterations: int = 3, candidates: int = 20, seed: int = 0,
                         progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """A universal trigger searched against each model on ``search``; every trigger measured on
    every model on ``examples`` (so the transfer of the old trigger is visible too)."""
    found: dict[str, Trigger] = {}
    for i, (name, (model, tok)) in enumerate(models.items()):
        result = universal_trigger(model, tok, search, length=length, iterations=iterations,
                                   candidates=candidates, seed=seed)
        found[name] = result.as_trigger()
        if progress:
            progress((i + 1) / len(models))
    rows = trigger_table(models, examples, list(found.values()), labels=labels, seed=seed,
                         extra=[{"searched_on": name} for name in found])
    return {"length": length, "iterations": iterations, "candidates": candidates,
            "n_search": len(search), "triggers": rows}
