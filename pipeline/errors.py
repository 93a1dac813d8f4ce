"""Pipeline errors. ``input_error = True`` makes the CLI print one line and exit 2."""

from __future__ import annotations


class AuditCancelled(Exception):
    """Raised at a progress tick once ``should_cancel()`` returns True."""


class AuditInputError(ValueError):
    """Bad model path, data path or stage selection."""

    input_error = True


class StageUnavailable(AuditInputError, NotImplementedError):
    """A stage whose library is not part of this build."""
