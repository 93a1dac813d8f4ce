"""Label judges: does an edited input still carry its gold label? One registry, none required.

``build_judge(name, labels, **params)`` with ``name`` in ``JUDGES``:

* ``lexicon``: user word lists per label and/or VADER mapped to the label names
  (``attacks.judges.lexicon``);
* ``model``: any local HF sequence classifier + a label map (``attacks.judges.model``);
* ``nli``: a zero-shot NLI classifier + a hypothesis per label (``attacks.judges.model``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from attacks.judges.base import ABSTAIN, CHANGED, KEPT, Judge, JudgeError

JUDGE_NAMES = ("lexicon", "model", "nli")


def build_judge(name: str, labels: Sequence[str], **params: Any) -> Judge:
    """A judge by registry name; unknown names raise ``JudgeError`` listing the valid ones."""
    if name == "lexicon":
        from attacks.judges.lexicon import LexiconJudge

        return LexiconJudge(labels, **params)
    if name == "model":
        from attacks.judges.model import ModelJudge

        return ModelJudge(labels, **params)
    if name == "nli":
        from attacks.judges.model import NLIJudge

        return NLIJudge(labels, **params)
    raise JudgeError(f"unknown judge {name!r}; valid: {', '.join(JUDGE_NAMES)}")


__all__ = ["ABSTAIN", "CHANGED", "JUDGE_NAMES", "KEPT", "Judge", "JudgeError", "build_judge"]
