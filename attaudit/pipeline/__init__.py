"""The audit pipeline: one code path for the CLI and the service workers.

``AuditConfig`` and ``STAGE_NAMES`` import without torch; ``AuditRun`` and ``AuditCancelled``
are loaded on first attribute access (they pull in torch and the libraries).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from attaudit.pipeline.config import DEFAULT_STAGES, STAGE_NAMES, AuditConfig

if TYPE_CHECKING:
    from attaudit.pipeline.runner import AuditCancelled, AuditRun, StageUnavailable

__all__ = ["STAGE_NAMES", "DEFAULT_STAGES", "AuditConfig", "AuditRun", "AuditCancelled",
           "StageUnavailable"]

_LAZY = {"AuditRun", "AuditCancelled", "StageUnavailable"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from attaudit.pipeline import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'attaudit.pipeline' has no attribute {name!r}")
