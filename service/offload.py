"""Blocking upload work (validation, storage, hub downloads, their database rows) off the event
loop: a small dedicated thread pool with a timeout, so one upload never stalls other requests.

The pool is separate from the threadpool that serves sync endpoints (a burst of uploads cannot
take the slots ``GET /v1/audits/{id}`` needs) and small (uploads are CPU and I/O heavy; 2 by
default). On timeout the request answers 503 and the thread is abandoned; it stops by itself,
because every validator loop checks its own time budget (``service.validation.deadline``) and
hub downloads run in a child process that is killed at its timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
from anyio import to_thread

from service.errors import APIError

T = TypeVar("T")


class Offloader:
    def __init__(self, threads: int, timeout: float) -> None:
        self.threads, self.timeout = max(1, threads), timeout
        self._limiter: anyio.CapacityLimiter | None = None

    def _get_limiter(self) -> anyio.CapacityLimiter:
        if self._limiter is None:  # created inside the running event loop
            self._limiter = anyio.CapacityLimiter(self.threads)
        return self._limiter

    async def run(self, fn: Callable[..., T], *args: object, timeout: float | None = None) -> T:
        """``fn(*args)`` in the upload pool; 503 ``upload_timeout`` past ``timeout`` seconds
        (queueing for a free slot included)."""
        seconds = self.timeout if timeout is None else timeout
        try:
            with anyio.fail_after(seconds):
                return await to_thread.run_sync(fn, *args, limiter=self._get_limiter(), abandon_on_cancel=True)
        except TimeoutError:
            raise APIError(503, "upload_timeout",
                           f"The upload could not be processed within {seconds:.0f} seconds; "
                           "the server is busy or the upload is too expensive to check.",
                           headers={"Retry-After": "30"}) from None
