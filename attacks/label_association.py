"""Per-word label association in labelled data: weighted log-odds with an informative Dirichlet prior.

Paper: Monroe, Colaresi and Quinn, "Fightin' Words: Lexical Feature Selection and Evaluation for
Identifying the Content of Political Conflict", Political Analysis 16(4), 2008, section 3.5
(https://doi.org/10.1093/pan/mpn018). For a word w, a label c and the rest of the data r:

    delta_w = log((y_wc + a_w) / (n_c + a_0 - y_wc - a_w)) - log((y_wr + a_w) / (n_r + a_0 - y_wr - a_w))
    var(delta_w) ~= 1 / (y_wc + a_w) + 1 / (y_wr + a_w),     z_w = delta_w / sqrt(var)

with y the word's counts, n the segment's total word counts, and the informative prior
a_w = a_0 * (y_w / n) taken from the same data's overall word frequencies (the paper's eq. 22
uses a background corpus; the pooled data is the background here). ``delta`` is the effect
size (a log-odds ratio: 0.69 = the odds of meeting the word double in label c); ``z`` its
significance. Departures and choices:

* Words are the lowercased whitespace words of the text, the unit trigger mining inserts, so a
  trigger word ("n't") is looked up as it was mined. No stemming, no stop-word list.
* One label against all the others (the paper compares two parties); for two labels the two
  rows are mirror images.
* Sentence pairs: each segment is counted on its own (``segment`` 0 = first text, 1 = second),
  since a word can carry a label in a hypothesis and not in a premise.
* ``a_0`` defaults to 0.1 x the segment's word count (a prior worth a tenth of the data), so a
  word seen twice cannot reach a large z.
* A word is *label-bearing* for label c only if BOTH ``delta >= min_effect`` (default log 1.5:
  odds 1.5 times higher) AND ``z >= min_z`` (default 3.0, two-sided p < 0.003). The effect-size
  floor is what keeps frequent function words ("the", "a", "of") from counting: on a large
  corpus a tiny difference in their rate is highly significant but not a label.

What it cannot tell: the association is measured on the data, so a dataset artifact or a
planted shortcut IS associated with its label here, exactly like a real label word. Only a
judge independent of the data (``attacks.judges``) separates "carries the label" from "is a
shortcut the data happens to contain"; see ``attacks.trigger_kinds``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MIN_EFFECT = math.log(1.5)
MIN_Z = 3.0


class AssociationError(ValueError):
    """Reference data that cannot give an association (reported as an input error)."""

    input_error = True


@dataclass(frozen=True)
class WordAssociation:
    """One word's association with one label in one segment."""

    word: str
    segment: int
    label: int
    label_name: str
    count_in_label: int
    count_elsewhere: int
    delta: float  # log-odds ratio (effect size)
    z: float  # delta / its standard deviation

    def bearing(self, min_effect: float = MIN_EFFECT, min_z: float = MIN_Z) -> bool:
        """Significantly and substantially MORE frequent under this label."""
        return self.delta >= min_effect and self.z >= min_z

    def to_json(self) -> dict[str, Any]:
        return {"word": self.word, "segment": self.segment, "label": self.label_name,
                "count_in_label": self.count_in_label, "count_elsewhere": self.count_elsewhere,
                "log_odds": round(self.delta, 4), "z": round(self.z, 3)}


def words_of(text: str | None) -> list[str]:
    """The unit of association: lowercased whitespace words (as mined triggers are)."""
    return (text or "").lower().split()


@dataclass
class LabelAssociation:
    """Word counts per (segment, label) from labelled examples; z and effect per word on demand.

    Build with ``LabelAssociation.from_examples(examples, labels)``.
    """

    labels: list[str]
    counts: dict[int, list[Counter]]  # segment -> per label: word -> count
    source: str = "data"
    num_examples: int = 0
    prior_scale: float = 0.1
    min_effect: float = MIN_EFFECT
    min_z: float = MIN_Z
    _totals: dict[int, Counter] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.prior_scale:
            raise AssociationError("prior_scale must be positive")
        for seg, per_label in self.counts.items():
            total: Counter = Counter()
            for c in per_label:
                total.update(c)
            self._totals[seg] = total

    @classmethod
    def from_examples(cls, examples: Iterable[Any], labels: Sequence[str], *, source: str = "data",
                      **options: Any) -> LabelAssociation:
        """Count words of labelled examples (``text``, optional ``pair``, integer ``label``)."""
        k = len(labels)
        if k < 2:
            raise AssociationError("label association needs at least two labels")
        counts: dict[int, list[Counter]] = {0: [Counter() for _ in range(k)]}
        n = 0
        for ex in examples:
            if ex.label is None:
                continue
            if not 0 <= int(ex.label) < k:
                raise AssociationError(f"gold label {ex.label} outside 0..{k - 1}")
            counts[0][int(ex.label)].update(words_of(ex.text))
            if ex.pair is not None:
                counts.setdefault(1, [Counter() for _ in range(k)])[int(ex.label)].update(words_of(ex.pair))
            n += 1
        if n == 0:
            raise AssociationError("no labelled rows to measure label association on")
        return cls(labels=list(labels), counts=counts, source=source, num_examples=n, **options)

    def word(self, word: str, label: int, segment: int = 0) -> WordAssociation:
        """Fightin' Words log-odds and z of ``word`` for ``label`` against all other labels."""
        seg = segment if segment in self.counts else 0
        per_label, total = self.counts[seg], self._totals[seg]
        w = word.lower()
        n_all = sum(total.values())
        a0 = self.prior_scale * n_all
        a_w = a0 * total[w] / n_all if n_all else 0.0
        if a_w <= 0:  # never seen in this segment: no evidence either way
            return WordAssociation(w, seg, label, self.labels[label], 0, 0, 0.0, 0.0)
        y_c = per_label[label][w]
        y_r = total[w] - y_c
        n_c = sum(per_label[label].values())
        n_r = n_all - n_c
        delta = (math.log((y_c + a_w) / (n_c + a0 - y_c - a_w))
                 - math.log((y_r + a_w) / (n_r + a0 - y_r - a_w)))
        var = 1.0 / (y_c + a_w) + 1.0 / (y_r + a_w)
        return WordAssociation(w, seg, label, self.labels[label], y_c, y_r, delta, delta / math.sqrt(var))

    def bearing_labels(self, word: str, segment: int = 0) -> list[int]:
        """Labels this word is significantly and substantially associated with."""
        return [c for c in range(len(self.labels))
                if self.word(word, c, segment).bearing(self.min_effect, self.min_z)]

    def trigger(self, tokens: Sequence[str], segments: Sequence[int]) -> dict[str, Any]:
        """A trigger's words against every label: per word and label the log-odds and z, the
        labels its words carry (any word bearing), and the strongest word per label."""
        per_word = []
        carries: set[int] = set()
        for w, s in zip(tokens, segments, strict=True):
            rows = [self.word(w, c, s) for c in range(len(self.labels))]
            bears = [r.label for r in rows if r.bearing(self.min_effect, self.min_z)]
            carries.update(bears)
            per_word.append({"word": w.lower(), "segment": s,
                             "seen": rows[0].count_in_label + rows[0].count_elsewhere,
                             "labels": {r.label_name: {"log_odds": round(r.delta, 4), "z": round(r.z, 3)}
                                        for r in rows},
                             "bears": [self.labels[c] for c in bears]})
        return {"words": per_word, "carries": sorted(carries),
                "carries_names": [self.labels[c] for c in sorted(carries)]}

    def top_words(self, label: int, k: int = 10, segment: int = 0) -> list[WordAssociation]:
        """The ``k`` label-bearing words of ``label`` with the largest z (for the report)."""
        seg = segment if segment in self.counts else 0
        rows = [self.word(w, label, seg) for w in self._totals[seg]]
        rows = [r for r in rows if r.bearing(self.min_effect, self.min_z)]
        return sorted(rows, key=lambda r: -r.z)[:k]

    def describe(self) -> dict[str, Any]:
        return {"method": "log-odds ratio with informative Dirichlet prior (Monroe et al. 2008)",
                "source": self.source, "num_examples": self.num_examples,
                "segments": sorted(self.counts), "prior_scale": self.prior_scale,
                "min_log_odds": round(self.min_effect, 4), "min_z": self.min_z}


def association_from_file(path: str | Path, labels: Sequence[str], **load_options: Any) -> LabelAssociation:
    """A ``--reference-data`` file (e.g. the training set) -> ``LabelAssociation``."""
    from attribution.data import load_examples

    examples = load_examples(path, labels=list(labels), **load_options)
    if not any(ex.label is not None for ex in examples):
        raise AssociationError(f"{path}: the reference data has no gold labels")
    return LabelAssociation.from_examples(examples, labels, source=str(path))
