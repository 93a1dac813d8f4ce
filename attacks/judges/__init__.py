"""Label judges: does an edited input still carry its gold label? One registry, none required.

``build_judge(name, labels, **params)`` with ``name`` in ``JUDGES``:

* ``lexicon``: user word lists per label and/or VADER mapped to the label names
  (``attacks.judges.lexicon``);
* ``model``: any local HF sequence classifier + a label map (``attacks.judges.model``);
* ``nli``: a zero-shot NLI classifier + a hypothesis per label (``attacks.judges.model``).

Specs (CLI ``--judge``, audit config ``judges``), read by ``judges_from_specs``:
``"vader"`` (the lexicon judge with VADER mapped to a negative/positive label pair),
``"auto"`` (``vader`` when the labels are such a pair, else no judge), a path to a JSON file,
or a dict: ``{"name": "lexicon", "words": {"positive": [...], "negative": [...]}}``,
``{"name": "model", "model": DIR, "label_map": {"NEG": "negative", ...}}``,
``{"name": "nli", "model": DIR, "template": "This review is {label}."}`` (or ``hypotheses``).
A JSON file holds one such object or a list of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from attacks.judges.base import ABSTAIN, CHANGED, KEPT, Judge, JudgeError
from common import registries

JUDGE_NAMES = registries.JUDGES
_BUILDERS = {"lexicon": "attacks.judges.lexicon:LexiconJudge", "model": "attacks.judges.model:ModelJudge",
             "nli": "attacks.judges.model:NLIJudge"}
registries.check_implemented("judge", _BUILDERS)


def build_judge(name: str, labels: Sequence[str], **params: Any) -> Judge:
    """A judge by registry name; unknown names raise ``JudgeError`` listing the valid ones."""
    try:
        return _build(name, labels, **params)
    except TypeError as exc:  # an unknown or missing parameter
        raise JudgeError(f"judge {name!r}: {exc}") from exc


def _build(name: str, labels: Sequence[str], **params: Any) -> Judge:
    if name not in _BUILDERS:
        raise JudgeError(f"unknown judge {name!r}; valid: {', '.join(JUDGE_NAMES)}")
    import importlib

    module, cls = _BUILDERS[name].split(":")
    return getattr(importlib.import_module(module), cls)(labels, **params)


def judges_from_specs(specs: Sequence[str | dict[str, Any]], labels: Sequence[str]) -> list[Judge]:
    """Build the judges named by ``specs`` (see the module docstring); errors are ``JudgeError``."""
    import json
    from pathlib import Path

    from attacks.judges.lexicon import polarity_labels

    out: list[Judge] = []
    for spec in specs:
        if isinstance(spec, str) and spec in registries.JUDGE_SHORTCUTS:
            mapping = polarity_labels(labels)
            if mapping is None:
                if spec == "auto":
                    continue
                raise JudgeError(f"the vader judge needs a negative/positive label pair; labels: {', '.join(labels)}")
            out.append(build_judge("lexicon", labels, vader=mapping))
            continue
        items: list[Any]
        if isinstance(spec, str):
            path = Path(spec)
            if not path.is_file():
                raise JudgeError(f"judge {spec!r}: not 'vader', 'auto' or a JSON file")
            try:
                loaded = json.loads(path.read_text())
            except ValueError as exc:
                raise JudgeError(f"judge file {spec}: not valid JSON ({exc})") from exc
            items = loaded if isinstance(loaded, list) else [loaded]
        else:
            items = [spec]
        for item in items:
            if not isinstance(item, dict) or "name" not in item:
                raise JudgeError(f"a judge spec needs a 'name' ({', '.join(JUDGE_NAMES)}); got {item!r}")
            params = {k: v for k, v in item.items() if k != "name"}
            if params.get("vader") == "auto":
                params["vader"] = polarity_labels(labels)
                if params["vader"] is None:
                    raise JudgeError("vader='auto' needs a negative/positive label pair")
            out.append(build_judge(str(item["name"]), labels, **params))
    return out


__all__ = ["judges_from_specs", "ABSTAIN", "CHANGED", "JUDGE_NAMES", "KEPT", "Judge", "JudgeError", "build_judge"]
