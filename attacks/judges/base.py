"""What a label judge is and how its opinions on edited inputs are read.

A judge gives, for each text (and optional second segment), evidence per *user* label: a
vector of K non-negative numbers, or None when it has no opinion. Two readings exist:

* ``mode = "classify"`` (model and NLI judges): the judge's label is the argmax. An edit
  *changed* the true label when the judge agrees with the gold label before the edit and not
  after; *kept* it when it agrees before and after; it *abstains* when it already disagrees
  with the gold label before the edit (it cannot vouch for that example).
* ``mode = "delta"`` (lexicon judges): a lexicon cannot classify a whole review, but it can say
  what the edit ADDED. With delta = after - before per label, an edit *changed* the label when
  it moved the evidence away from gold: max over other labels of delta minus delta[gold] >
  ``DELTA_MARGIN`` (0.05, VADER's neutral band; word counts move by whole units). Otherwise
  *kept*: no known label word was added against gold, the weakest evidence a judge can give.

``phrase_label`` is the judge's reading of the trigger words alone, used to detect triggers
that push against their own meaning (``attacks.trigger_kinds``).
"""

from __future__ import annotations

from collections.abc import Sequence

CHANGED, KEPT, ABSTAIN = "changed", "kept", "abstain"
DELTA_MARGIN = 0.05


class JudgeError(ValueError):
    """A judge that cannot be built from its parameters (reported as an input error)."""

    input_error = True


class Judge:
    """Base class: subclasses set ``name``, ``mode``, ``labels`` and implement ``scores``."""

    name = "judge"
    mode = "classify"
    labels: list[str]

    def scores(self, texts: Sequence[str], pairs: Sequence[str | None] | None = None) -> list[list[float] | None]:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"name": self.name, "mode": self.mode}

    def judge_edits(self, originals: Sequence[tuple[str, str | None]], edited: Sequence[tuple[str, str | None]],
                    gold: Sequence[int]) -> list[str]:
        """Per edited example: CHANGED, KEPT or ABSTAIN (see the module docstring)."""
        if not (len(originals) == len(edited) == len(gold)):
            raise ValueError("originals, edited and gold must have the same length")
        if not originals:
            return []
        texts = [t for t, _ in originals] + [t for t, _ in edited]
        pairs = [p for _, p in originals] + [p for _, p in edited]
        s = self.scores(texts, pairs if any(p is not None for p in pairs) else None)
        n = len(originals)
        return [self._verdict(s[i], s[n + i], int(g)) for i, g in enumerate(gold)]

    def _verdict(self, before: list[float] | None, after: list[float] | None, gold: int) -> str:
        if before is None or after is None:
            return ABSTAIN
        if self.mode == "delta":
            delta = [a - b for a, b in zip(after, before, strict=True)]
            other = max(delta[c] for c in range(len(delta)) if c != gold)
            return CHANGED if other - delta[gold] > DELTA_MARGIN else KEPT
        b = max(range(len(before)), key=lambda c: before[c])
        a = max(range(len(after)), key=lambda c: after[c])
        if b != gold:
            return ABSTAIN
        return KEPT if a == gold else CHANGED

    def knows(self, words: Sequence[str]) -> bool:
        """Whether this judge has knowledge about these words at all (a model reads any text: True).

        A judge that does not know any of the words cannot tell a shortcut from a label word:
        ``attacks.trigger_kinds`` then falls back to the data association for that trigger.
        """
        return True

    def phrase_label(self, words: Sequence[str]) -> int | None:
        """The label the trigger words carry on their own (None: no opinion / neutral)."""
        s = self.scores([" ".join(words)])[0]
        if s is None or max(s) <= 0:
            return None
        top = max(range(len(s)), key=lambda c: s[c])
        if self.mode == "classify" and sorted(s)[-1] - sorted(s)[-2] < 1e-9:
            return None
        return top
