"""Where stage results live: ONE store per run, read by later stages and by the report.

A stage document is ``{"stage", "cache_key", "config", "started", "seconds", "result",
"slice_sizes", "rows"}``. The CLI keeps documents as JSON files keyed by the model and dataset
hashes and the stage's ``AuditConfig.cache_key`` (``FileResultStore``), so a re-run skips
finished stages; the service workers keep them in the database (``workers.stage_store``), so
the report a worker writes reads exactly what the database records.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Protocol

from common.atomic_io import write_text_atomic


class ResultStore(Protocol):
    def get(self, stage: str, cache_key: str) -> dict | None:
        """The stage document stored for ``stage`` under ``cache_key``, or None."""

    def put(self, stage: str, cache_key: str, doc: dict) -> None:
        """Store a freshly computed stage document."""


def json_safe(value: Any) -> Any:
    """NaN and infinities become None (JSON has neither); tuples become lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON to ``path`` through a temporary file and ``os.replace`` (never half-written)."""
    write_text_atomic(path, json.dumps(payload, separators=(",", ":"), allow_nan=False))


class FileResultStore:
    """``root/<stage>-<cache_key>.json``, written atomically; corrupt or stale entries are misses."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, stage: str, cache_key: str) -> Path:
        return self.root / f"{stage}-{cache_key}.json"

    def get(self, stage: str, cache_key: str) -> dict | None:
        path = self.path(stage, cache_key)
        if not path.is_file():
            return None
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None  # a corrupt entry is recomputed (writes are atomic, so this is rare)
        return doc if isinstance(doc, dict) and doc.get("cache_key") == cache_key else None

    def put(self, stage: str, cache_key: str, doc: dict) -> None:
        write_json_atomic(self.path(stage, cache_key), doc)
