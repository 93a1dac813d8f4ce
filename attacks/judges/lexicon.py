"""Lexicon judge: label word lists given by the user, and/or VADER's general-English sentiment lexicon.

VADER: Hutto and Gilbert, "VADER: A Parsimonious Rule-based Model for Sentiment Analysis of
Social Media Text", ICWSM 2014 (package ``vaderSentiment``, its lexicon and its negation,
booster and "but" rules). Its compound score in [-1, 1] is mapped to the user's label names:
``vader={"positive": "pos", "negative": "neg"}`` adds max(compound, 0) to the user label named
for "positive" and max(-compound, 0) to the one named for "negative" (|compound| < 0.05 is
VADER's own neutral band and adds nothing).

User word lists (``words={"positive": [...], "negative": [...]}``): each occurrence of a listed
whitespace word (lowercased) adds 1 to its label; a word preceded within three words by a
negator (VADER's list: not, n't, no, never, without, ...) instead adds 1 to the other label
when there are exactly two labels, and nothing otherwise (the same three-word window VADER
uses). Read in ``mode="delta"``: only what an edit adds counts (``attacks.judges.base``).

Closed or open world (``exhaustive``): user word lists are by default the task's complete label
vocabulary (``exhaustive=True``): a word not listed carries no label, so the judge "knows" every
word and can call an unlisted planted word a shortcut. VADER alone is general English and open
world: it knows only its own lexicon words, so a domain label word it lacks ("too", "tedious" in
movie reviews) or a negator alone is "unknown" and the data association decides (``knows``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from attacks.judges.base import Judge, JudgeError

NEGATORS = frozenset(
    "not n't no never none nobody nothing neither nor nowhere without hardly cannot "
    "isnt isn't aint ain't dont don't doesnt doesn't didnt didn't wont won't cant can't "
    "shouldnt shouldn't wouldnt wouldn't couldnt couldn't wasnt wasn't werent weren't "
    "arent aren't havent haven't hasnt hasn't hadnt hadn't rarely seldom despite".split()
)
VADER_NEUTRAL = 0.05


class LexiconJudge(Judge):
    name = "lexicon"
    mode = "delta"

    def __init__(self, labels: Sequence[str], *, words: Mapping[str, Sequence[str]] | None = None,
                 vader: Mapping[str, str] | None = None, exhaustive: bool | None = None) -> None:
        self.labels = list(labels)
        index = {name: i for i, name in enumerate(self.labels)}
        if not words and not vader:
            raise JudgeError("the lexicon judge needs word lists per label (words=...) and/or "
                             "a VADER label mapping (vader={'positive': ..., 'negative': ...})")
        self.words: dict[str, int] = {}
        for label, items in dict(words or {}).items():
            if label not in index:
                raise JudgeError(f"lexicon judge: unknown label {label!r}; labels: {', '.join(self.labels)}")
            for w in items:
                self.words[str(w).lower()] = index[label]
        self.vader_map: dict[str, int] = {}
        self._vader = None
        if vader:
            bad = set(vader) - {"positive", "negative"}
            if bad:
                raise JudgeError(f"vader mapping keys must be 'positive' and/or 'negative', got {sorted(bad)}")
            for polarity, label in vader.items():
                if label not in index:
                    raise JudgeError(f"vader mapping: unknown label {label!r}; labels: {', '.join(self.labels)}")
                self.vader_map[polarity] = index[label]
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            self._vader = SentimentIntensityAnalyzer()
        self.exhaustive = bool(self.words) if exhaustive is None else bool(exhaustive)

    def knows(self, words: Sequence[str]) -> bool:
        if self.exhaustive:
            return True
        lexicon = self._vader.lexicon if self._vader is not None else {}
        return any(w.lower() in self.words or w.lower() in lexicon for w in words)

    def describe(self) -> dict:
        return {"name": self.name, "mode": self.mode, "word_lists": len(self.words),
                "exhaustive": self.exhaustive,
                "vader": {k: self.labels[v] for k, v in self.vader_map.items()} or None}

    def _one(self, text: str) -> list[float]:
        out = [0.0] * len(self.labels)
        tokens = text.lower().split()
        for i, w in enumerate(tokens):
            label = self.words.get(w)
            if label is None:
                continue
            if any(t in NEGATORS for t in tokens[max(0, i - 3) : i]):
                if len(self.labels) == 2:
                    out[1 - label] += 1.0
            else:
                out[label] += 1.0
        if self._vader is not None:
            compound = float(self._vader.polarity_scores(text)["compound"])
            if compound >= VADER_NEUTRAL and "positive" in self.vader_map:
                out[self.vader_map["positive"]] += compound
            if compound <= -VADER_NEUTRAL and "negative" in self.vader_map:
                out[self.vader_map["negative"]] += -compound
        return out

    def scores(self, texts: Sequence[str], pairs: Sequence[str | None] | None = None) -> list[list[float] | None]:
        pairs = pairs or [None] * len(texts)
        return [self._one(t if p is None else f"{t} {p}") for t, p in zip(texts, pairs, strict=True)]


def polarity_labels(labels: Sequence[str]) -> dict[str, str] | None:
    """A VADER mapping when the label names are a polarity pair (negative/positive, neg/pos)."""
    lower = {str(name).lower(): str(name) for name in labels}
    for neg, pos in (("negative", "positive"), ("neg", "pos")):
        if len(labels) == 2 and neg in lower and pos in lower:
            return {"positive": lower[pos], "negative": lower[neg]}
    return None
