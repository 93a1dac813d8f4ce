"""Which triggers are vulnerabilities: label-bearing, spurious or counter-evidence.

Beyond the paper: Hao et al. (AAAI 2021, section 4.4) count every accuracy drop a mined pattern
causes as an attack. But inserting "awful" into a positive review makes it a negative review:
the model is right to change its answer. Each measured trigger gets one kind:

* ``label-bearing``: the edit plausibly changes the true label toward where the trigger pushes;
* ``spurious``: the edit keeps the label and the trigger's words carry no label: a shortcut;
* ``counter-evidence``: the trigger pushes predictions AGAINST its own words' meaning, e.g. a
  negation the model misreads ("not bad" pushing toward negative).

How the kind is decided (``pushed`` = the measured direction: the label most flipped predictions
go to, or the label gaining most predictions when nothing flips; not the mining example's label):

1. With at least one judge (``attacks.judges``) that knows the trigger's words (``Judge.knows``:
   a model always; a lexicon when it lists one of them or its lists are declared exhaustive) and
   gave an opinion on the edited examples
   the model flipped (all edited, correctly classified examples when none flipped): the share
   of judged edits whose label CHANGED decides; >= ``changed_share`` (0.5) -> label-bearing.
   Otherwise, if a judge reads the trigger words on their own as a label other than ``pushed``
   -> counter-evidence; if it reads them as ``pushed`` -> label-bearing; else spurious. The data
   association is reported but does not override the judge: a planted or dataset artifact IS
   associated with its label in the data, and only a judge independent of the data can call it
   a shortcut.
2. With no judge opinion (or no judge knowing the words): the data association alone (``attacks.label_association``): words
   bearing ``pushed`` -> label-bearing; words bearing only other labels -> counter-evidence;
   no bearing word -> spurious. The evidence then says "data only": a shortcut present in the
   reference data is indistinguishable from a real label word, and a negation whose parts are
   each associated with the pushed label ("not" and "lifeless" both negative in SST-2) reads as
   label-bearing: word counts cannot read negation.

Judged drop: the per-class drop measured only on the examples every judge says KEPT their label
(abstentions and changed edits left out), with a Newcombe paired 95% interval
(``attacks.intervals``). Raw drops are always reported beside it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from attacks.intervals import paired_difference, wilson
from attacks.judges.base import ABSTAIN, CHANGED, KEPT, Judge
from attacks.label_association import LabelAssociation
from common import registries

KINDS = registries.TRIGGER_KINDS
VULNERABILITY_KINDS = ("spurious", "counter-evidence")


@dataclass
class ClassDrop:
    """A paired drop (clean - triggered accuracy) on one gold class, with its 95% interval."""

    label: str
    n: int
    clean_accuracy: float
    triggered_accuracy: float
    drop: float
    ci: tuple[float, float]
    success_rate: float  # flipped / correct before the edit
    success_ci: tuple[float, float]
    num_correct: int

    def to_json(self) -> dict[str, Any]:
        def r(x: float) -> float | None:
            return None if x != x else round(x, 4)  # NaN -> null
        return {"label": self.label, "n": self.n, "clean_accuracy": r(self.clean_accuracy),
                "triggered_accuracy": r(self.triggered_accuracy), "drop": r(self.drop),
                "drop_ci95": [r(self.ci[0]), r(self.ci[1])], "success_rate": r(self.success_rate),
                "success_ci95": [r(self.success_ci[0]), r(self.success_ci[1])],
                "num_correct": self.num_correct}


@dataclass
class TriggerFinding:
    text: str
    tokens: list[str]
    segments: list[int]
    kind: str
    pushed: int
    pushed_name: str
    raw: list[ClassDrop]
    judged: list[ClassDrop] | None
    evidence: dict[str, Any] = field(default_factory=dict)
    rank: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"trigger": self.text, "tokens": self.tokens, "segments": self.segments, "rank": self.rank,
                "kind": self.kind, "pushes_toward": self.pushed_name,
                "raw": [c.to_json() for c in self.raw],
                "judged": None if self.judged is None else [c.to_json() for c in self.judged],
                "evidence": self.evidence}


def class_drop(label: str, gold: Sequence[int], clean: Sequence[int], trig: Sequence[int],
               cls: int, keep: Sequence[bool] | None = None) -> ClassDrop:
    """Paired drop on the examples of gold class ``cls`` (restricted to ``keep``)."""
    a = b = c = d = 0
    flipped = 0
    for i, g in enumerate(gold):
        if g != cls or (keep is not None and not keep[i]):
            continue
        ok0, ok1 = clean[i] == g, trig[i] == g
        a += ok0 and ok1
        b += ok0 and not ok1
        c += ok1 and not ok0
        d += not ok0 and not ok1
        flipped += ok0 and trig[i] != clean[i]
    n = a + b + c + d
    diff, ci = paired_difference(a, b, c, d)
    correct = a + b
    nan = float("nan")
    return ClassDrop(label, n, (a + b) / n if n else nan, (a + c) / n if n else nan, diff, ci,
                     flipped / correct if correct else nan, wilson(flipped, correct), correct)


def measured_direction(gold: Sequence[int], clean: Sequence[int], trig: Sequence[int], k: int) -> int:
    """The label flipped predictions go to most; else the label gaining most predictions."""
    flips = Counter(t for c, t, g in zip(clean, trig, gold, strict=True) if c == g and t != c)
    if flips:
        return flips.most_common(1)[0][0]
    gain = [sum(t == c for t in trig) - sum(p == c for p in clean) for c in range(k)]
    return max(range(k), key=lambda c: gain[c])


def classify_triggers(report: Any, *, association: LabelAssociation | None = None,
                      judges: Sequence[Judge] = (), changed_share: float = 0.5) -> list[TriggerFinding]:
    """Kind, raw and judged per-class drops for every trigger of an ``evaluate_triggers`` report."""
    labels = list(report.labels)
    k = len(labels)
    gold, clean = list(report.gold), list(report.clean_predictions)
    if not gold:
        raise ValueError("the attack report carries no per-example predictions")
    findings = []
    for res in report.results:
        trig_pred = list(res.predictions)
        pushed = measured_direction(gold, clean, trig_pred, k)
        verdicts = [j.judge_edits(report.originals, res.edited, gold) for j in judges]
        focus = [i for i in range(len(gold)) if clean[i] == gold[i] and trig_pred[i] != clean[i]]
        if not focus:
            focus = [i for i in range(len(gold)) if clean[i] == gold[i]]
        judged_votes = [v[i] for v in verdicts for i in focus if v[i] != ABSTAIN]
        share = sum(v == CHANGED for v in judged_votes) / len(judged_votes) if judged_votes else None
        phrase = [j.phrase_label(res.trigger.tokens) for j in judges]
        assoc = association.trigger(res.trigger.tokens, res.trigger.segments) if association else None
        carries = set(assoc["carries"]) if assoc else set()
        evidence: dict[str, Any] = {
            "data_association": assoc,
            "data_carries_pushed": pushed in carries if assoc else None,
            "judges": [{"judge": j.name, "changed": sum(v[i] == CHANGED for i in focus),
                        "kept": sum(v[i] == KEPT for i in focus),
                        "abstained": sum(v[i] == ABSTAIN for i in focus),
                        "phrase_label": None if p is None else labels[p]}
                       for j, v, p in zip(judges, verdicts, phrase, strict=True)],
            "changed_share": None if share is None else round(share, 4),
        }
        knowing = [j for j in judges if j.knows(res.trigger.tokens)]
        evidence["judges_know_words"] = bool(knowing) if judges else None
        if share is not None and not knowing and assoc is not None:
            share = None  # the judges know none of these words: the data association decides
            evidence["reason_prefix"] = "judges know none of these words; "
        if share is not None:
            against = any(p is not None and p != pushed for p in phrase)
            toward = any(p == pushed for p in phrase)
            if share >= changed_share:
                kind, why = "label-bearing", "judge: the edits change the label"
            elif against:
                kind, why = "counter-evidence", "judge: the trigger words mean another label than it pushes toward"
            elif toward:
                kind, why = "label-bearing", "judge: the trigger words carry the label it pushes toward"
            else:
                kind, why = "spurious", "judge: the edits keep the label and the words carry none"
            if kind == "spurious" and pushed in carries:
                why += " (the data associates them with it: an artifact of the data)"
        elif assoc is not None:
            if pushed in carries:
                kind, why = "label-bearing", "data only: the words are associated with the label it pushes toward"
            elif carries:
                kind, why = "counter-evidence", "data only: the words are associated with another label"
            else:
                kind, why = "spurious", "data only: the words carry no label in the reference data"
        else:
            kind, why = "spurious", "no evidence: no reference data and no judge (unverified)"
        evidence["reason"] = evidence.pop("reason_prefix", "") + why
        keep = None
        if judges:
            keep = [all(v[i] == KEPT for v in verdicts) for i in range(len(gold))]
        raw = [class_drop(labels[c], gold, clean, trig_pred, c) for c in range(k)]
        judged = None if keep is None else [class_drop(labels[c], gold, clean, trig_pred, c, keep)
                                            for c in range(k)]
        findings.append(TriggerFinding(res.trigger.text, list(res.trigger.tokens), list(res.trigger.segments),
                                       kind, pushed, labels[pushed], raw, judged, evidence, res.rank))
    return findings


def split_label_bearing(triggers: Sequence[Any], *, association: LabelAssociation | None = None,
                        judges: Sequence[Judge] = ()) -> tuple[list[Any], list[Any]]:
    """Before ranking by damage: (candidates, label-bearing) mined triggers.

    At mining time no edit has been measured yet, so this reads the trigger words against the
    label they were mined for (``pushed_label``): with judges that know the words, a judge reading
    them as that label; otherwise the data association carrying it (a shortcut present in the reference data is
    then set apart too; it is still measured and listed in the label-bearing table).
    """
    keep, bearing = [], []
    for t in triggers:
        pushed = t.pushed_label
        if pushed is None:
            keep.append(t)
            continue
        knowing = [j for j in judges if j.knows(t.tokens)]
        if knowing:
            hit = any(j.phrase_label(t.tokens) == pushed for j in knowing)
        elif association is not None:
            hit = pushed in association.trigger(t.tokens, t.segments)["carries"]
        else:
            hit = False
        (bearing if hit else keep).append(t)
    return keep, bearing
