"""What a stage sees: the config, the loaded model, the data slices, earlier results, progress.

The context is built by ``pipeline.run.AuditRun`` from plain callables, so it knows nothing
of the run that made it (no import cycle; a test can build one by hand).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from common.audit_config import AuditConfig
from pipeline.errors import AuditInputError


class StageContext:
    """Handed to ``stage.run(ctx)``; everything expensive is loaded once per run.

    Args:
        config: the audit's configuration.
        stage: the stage being run.
        loaded: returns the ``attribution.model_loading.LoadedClassifier`` (loaded on first use).
        slices: returns the data slices by name (``mining``, ``importance``, ``eval``).
        previous: returns an earlier stage's result, or None when it is not selected nor cached.
        tick: reports this stage's fraction done; raises ``AuditCancelled`` when cancelled.
        model_sha256, dataset_sha256: the content hashes of the inputs (``common.hashing``).
        labels: returns the class names in index order (``AuditConfig.label_names`` when given);
            default: the loaded model's.
    """

    def __init__(self, config: AuditConfig, stage: str, *, loaded: Callable[[], Any],
                 slices: Callable[[], dict[str, list[Any]]],
                 previous: Callable[[str], dict | None], tick: Callable[[float], None],
                 model_sha256: str, dataset_sha256: str,
                 labels: Callable[[], list[str]] | None = None):
        self.config = config
        self.stage = stage
        self._loaded = loaded
        self._slices = slices
        self._previous = previous
        self._tick = tick
        self.model_sha256 = model_sha256
        self.dataset_sha256 = dataset_sha256
        self._labels = labels

    @property
    def loaded(self) -> Any:
        """The ``attribution.model_loading.LoadedClassifier`` (loaded on first use)."""
        return self._loaded()

    @property
    def labels(self) -> list[str]:
        """Class names in index order (``AuditConfig.label_names`` when given)."""
        return list(self._labels() if self._labels is not None else self.loaded.labels)

    def slice(self, name: str, limit: int | None = None) -> list[Any]:
        """Examples of slice ``name`` (``mining``, ``importance`` or ``eval``), first ``limit``."""
        rows = self._slices()[name]
        return rows if limit is None else rows[:limit]

    def labelled(self, name: str, limit: int | None = None) -> list[Any]:
        """Like ``slice`` but only examples with a gold label (raises when there are none)."""
        rows = [ex for ex in self._slices()[name] if ex.label is not None]
        if not rows:
            raise AuditInputError(f"stage {self.stage}: the {name} slice has no labelled examples")
        return rows if limit is None else rows[:limit]

    def previous(self, stage: str) -> dict | None:
        """An earlier stage's result (from the cache, or computed now when selected)."""
        return self._previous(stage)

    def progress(self, fraction: float) -> None:
        """Report ``fraction`` (0..1) of this stage done; raises AuditCancelled when cancelled."""
        self._tick(min(1.0, max(0.0, float(fraction))))

    def sub_progress(self, start: float, end: float) -> Callable[[float], None]:
        """A progress hook for a library call covering [start, end] of this stage."""
        return lambda f: self.progress(start + (end - start) * float(f))
