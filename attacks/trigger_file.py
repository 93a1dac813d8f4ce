"""Trigger records and the trigger JSON file (ranked triggers plus provenance).

A trigger is a short list of words mined from self-attention attribution (Hao et al.,
"Self-Attention Attribution: Interpreting Information Interactions Inside Transformer",
AAAI 2021, section 4.4, https://arxiv.org/abs/2004.11207). Each word remembers the segment it
came from (0 = first sentence, 1 = second sentence of a pair) and its relative position in that
segment, so it can be re-inserted at the same relative place into any input.

File format (``format: "attaudit-triggers"``, ``version: 1``)::

    {"format": "attaudit-triggers", "version": 1,
     "provenance": {"model_sha256": ..., "dataset_sha256": ..., "attaudit_version": ...,
                    "created": ISO-8601, "mining": {options used}},
     "labels": ["negative", "positive"],
     "triggers": [   # ranked, best first
        {"tokens": ["red", "dog"], "segments": [0, 0], "relative_positions": [0.2, 0.6],
         "position": "relative", "segment": 0, "pushed_label": 1, "pushed_label_name": "positive",
         "support": 12, "label_support": {"positive": 12},
         "scores": {"rank": 0.31, "attribution_mean": 0.05, "attribution_max": 0.09,
                    "damage": null}}]}

Departure from the paper: the reference code keeps one pattern per mining example and
ranks those; here patterns with the same words in the same segments are merged (support count).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from common import registries
from common.atomic_io import write_text_atomic
from common.version import __version__

FORMAT = "attaudit-triggers"
VERSION = 1
POSITIONS = registries.TRIGGER_POSITIONS


class TriggerFileError(ValueError):
    """A trigger file or trigger record that cannot be used (reported as an input error)."""

    input_error = True


@dataclass
class Trigger:
    """One ranked trigger: words with their segments and relative positions.

    Attributes:
        tokens: the trigger words (word-pieces merged), in insertion order.
        segments: per word, 0 (first sentence) or 1 (second sentence of a pair).
        relative_positions: per word, position in its segment as a fraction in [0, 1].
        position: insertion rule, one of ``POSITIONS``.
        pushed_label: the label the trigger pushes predictions toward (majority predicted
            label of the mining examples it came from), or None if unknown.
        support: number of mining examples that produced this pattern.
        label_support: support per predicted label name.
        scores: "rank" (the ranking score), "attribution_mean", "attribution_max",
            "damage" (attack success rate on the validation slice, when measured).
    """

    tokens: list[str]
    segments: list[int]
    relative_positions: list[float]
    position: str = "relative"
    pushed_label: int | None = None
    pushed_label_name: str | None = None
    support: int = 1
    label_support: dict[str, int] = field(default_factory=dict)
    scores: dict[str, float | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_trigger(self)

    @property
    def segment(self) -> int | str:
        """0 or 1 when all words share a segment, else "both"."""
        kinds = set(self.segments)
        return kinds.pop() if len(kinds) == 1 else "both"

    @property
    def text(self) -> str:
        return " ".join(self.tokens)

    def with_position(self, position: str) -> Trigger:
        """A copy using another insertion rule."""
        data = asdict(self)
        data["position"] = position
        return Trigger(**data)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["segment"] = self.segment
        return data

    @classmethod
    def from_json(cls, data: Any, *, where: str = "trigger") -> Trigger:
        if not isinstance(data, dict):
            raise TriggerFileError(f"{where}: expected an object, got {type(data).__name__}")
        tokens = data.get("tokens")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise TriggerFileError(f"{where}: 'tokens' must be a list of words")
        n = len(tokens)
        try:
            return cls(
                tokens=list(tokens),
                segments=[int(s) for s in data.get("segments", [0] * n)],
                relative_positions=[
                    float(p) for p in data.get("relative_positions", [0.5] * n)
                ],
                position=str(data.get("position", "relative")),
                pushed_label=None if data.get("pushed_label") is None else int(data["pushed_label"]),
                pushed_label_name=data.get("pushed_label_name"),
                support=int(data.get("support", 1)),
                label_support={str(k): int(v) for k, v in dict(data.get("label_support", {})).items()},
                scores={str(k): (None if v is None else float(v))
                        for k, v in dict(data.get("scores", {})).items()},
            )
        except TriggerFileError as exc:
            raise TriggerFileError(f"{where}: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise TriggerFileError(f"{where}: {exc}") from None


def validate_trigger(t: Trigger) -> None:
    """Raise TriggerFileError unless the record is usable for insertion."""
    if not t.tokens:
        raise TriggerFileError("a trigger needs at least one word")
    if any(not w.strip() or any(c.isspace() for c in w) for w in t.tokens):
        raise TriggerFileError(f"trigger words must be non-empty single words: {t.tokens!r}")
    if not (len(t.segments) == len(t.relative_positions) == len(t.tokens)):
        raise TriggerFileError("tokens, segments and relative_positions must have equal length")
    if any(s not in (0, 1) for s in t.segments):
        raise TriggerFileError(f"segments must be 0 or 1, got {t.segments}")
    if any(not 0.0 <= p <= 1.0 for p in t.relative_positions):
        raise TriggerFileError(f"relative positions must lie in [0, 1], got {t.relative_positions}")
    if t.position not in POSITIONS:
        raise TriggerFileError(
            f"unknown position rule {t.position!r}; valid: {', '.join(POSITIONS)}"
        )


@dataclass
class TriggerSet:
    """Ranked triggers (best first) plus provenance and label names."""

    triggers: list[Trigger]
    labels: list[str] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "provenance": self.provenance,
            "labels": self.labels,
            "triggers": [t.to_json() for t in self.triggers],
        }


def make_provenance(
    *, model_sha256: str | None, dataset_sha256: str | None, mining: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Provenance block: model hash, dataset hash, attaudit version, time, mining options."""
    return {
        "model_sha256": model_sha256,
        "dataset_sha256": dataset_sha256,
        "attaudit_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mining": mining or {},
    }


def save_triggers(trigger_set: TriggerSet, path: str | Path) -> Path:
    """Write atomically (temp file + rename), so a failure never leaves half a file."""
    path = Path(path)
    write_text_atomic(path, json.dumps(trigger_set.to_json(), indent=2))
    return path


def load_triggers(path: str | Path) -> TriggerSet:
    """Read and validate a trigger file; raises TriggerFileError with the reason."""
    path = Path(path)
    if not path.is_file():
        raise TriggerFileError(f"trigger file not found: {path}")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TriggerFileError(f"{path}: not valid JSON ({exc})") from None
    return parse_triggers(data, where=str(path))


def parse_triggers(data: Any, *, where: str = "triggers") -> TriggerSet:
    if not isinstance(data, dict) or not isinstance(data.get("triggers"), list):
        raise TriggerFileError(f"{where}: expected an object with a 'triggers' list")
    if data.get("format", FORMAT) != FORMAT:
        raise TriggerFileError(f"{where}: format {data.get('format')!r} is not {FORMAT!r}")
    if int(data.get("version", VERSION)) > VERSION:
        raise TriggerFileError(f"{where}: version {data.get('version')} is newer than {VERSION}")
    if not data["triggers"]:
        raise TriggerFileError(f"{where}: the 'triggers' list is empty")
    triggers = [
        Trigger.from_json(t, where=f"{where}: triggers[{i}]") for i, t in enumerate(data["triggers"])
    ]
    labels = data.get("labels", [])
    if not isinstance(labels, list):
        raise TriggerFileError(f"{where}: 'labels' must be a list")
    return TriggerSet(triggers=triggers, labels=[str(x) for x in labels],
                      provenance=dict(data.get("provenance") or {}))
