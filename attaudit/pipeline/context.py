"""What a stage sees: the config, the loaded model, the data slices, earlier results, progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from attaudit.pipeline.config import AuditConfig

if TYPE_CHECKING:
    from attaudit.pipeline.runner import AuditRun


class StageContext:
    """Handed to ``stage.run(ctx)``; everything expensive is loaded once per ``AuditRun``."""

    def __init__(self, run: AuditRun, stage: str, tick: Callable[[float], None]):
        self._run = run
        self.stage = stage
        self.config: AuditConfig = run.config
        self._tick = tick

    @property
    def loaded(self) -> Any:
        """The ``attribution.model_loading.LoadedClassifier`` (loaded on first use)."""
        return self._run.loaded()

    @property
    def model_sha256(self) -> str:
        return self._run.model_sha256

    @property
    def dataset_sha256(self) -> str:
        return self._run.dataset_sha256

    @property
    def labels(self) -> list[str]:
        """Class names in index order (``AuditConfig.label_names`` when given)."""
        return self._run.labels()

    def slice(self, name: str, limit: int | None = None) -> list[Any]:
        """Examples of slice ``name`` (``mining``, ``importance`` or ``eval``), first ``limit``."""
        rows = self._run.slices()[name]
        return rows if limit is None else rows[:limit]

    def labelled(self, name: str, limit: int | None = None) -> list[Any]:
        """Like ``slice`` but only examples with a gold label (raises when there are none)."""
        from attaudit.pipeline.errors import AuditInputError

        rows = [ex for ex in self._run.slices()[name] if ex.label is not None]
        if not rows:
            raise AuditInputError(f"stage {self.stage}: the {name} slice has no labelled examples")
        return rows if limit is None else rows[:limit]

    def previous(self, stage: str) -> dict | None:
        """An earlier stage's result (from the cache, or computed now when selected)."""
        return self._run.stage_result_if_selected(stage)

    def progress(self, fraction: float) -> None:
        """Report ``fraction`` (0..1) of this stage done; raises AuditCancelled when cancelled."""
        self._tick(min(1.0, max(0.0, float(fraction))))

    def sub_progress(self, start: float, end: float) -> Callable[[float], None]:
        """A progress hook for a library call covering [start, end] of this stage."""
        return lambda f: self.progress(start + (end - start) * float(f))
