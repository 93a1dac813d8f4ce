"""A per-call time budget for validators, checked cooperatively in their loops.

The API runs validation in a worker thread with a timeout (``service.offload``). A thread
cannot be killed, so when the request times out the validator must also stop by itself: every
loop that reads upload bytes calls ``check_deadline()``, which raises ``UploadRejected``
(``validation_timeout``) once the budget set by ``deadline(seconds)`` is spent. The budget is
held in a ``ContextVar`` set inside the worker thread, so concurrent uploads never share one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from service.validation.errors import UploadRejected

_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("attaudit_validation_deadline", default=None)


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Give the validators called inside this block ``seconds`` of wall time (None: no limit)."""
    token = _DEADLINE.set(None if seconds is None else (time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check_deadline() -> None:
    """Raise ``validation_timeout`` when the current budget is spent."""
    current = _DEADLINE.get()
    if current is not None and time.monotonic() > current[0]:
        raise UploadRejected("validation_timeout", f"validating the upload took longer than {current[1]:.0f} seconds; the upload is refused")
