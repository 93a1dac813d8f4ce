"""The audit pipeline: one code path for the CLI and the service workers.

Importing it is cheap (no torch): stages load their science libraries when they run.
"""

from __future__ import annotations

from common.audit_config import DEFAULT_STAGES, STAGE_NAMES, AuditConfig
from pipeline.errors import AuditCancelled, AuditInputError, StageUnavailable
from pipeline.run import AuditRun

__all__ = ["STAGE_NAMES", "DEFAULT_STAGES", "AuditConfig", "AuditRun", "AuditCancelled",
           "AuditInputError", "StageUnavailable"]
