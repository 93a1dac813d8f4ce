"""Per-key request rate limit: a sliding one-minute window held in the API process.

Each API replica limits independently (N replicas allow N x the rate); a shared Redis
counter is the upgrade path when the API is scaled out.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class RateLimiter:
    def __init__(self, per_minute: int, window_s: float = 60.0) -> None:
        self.per_minute, self.window_s = per_minute, window_s
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> float | None:
        """Record a request; returns None if allowed, else seconds until the next slot frees."""
        if self.per_minute <= 0:
            return None
        t = time.monotonic() if now is None else now
        with self._lock:
            q = self._hits[key]
            while q and q[0] <= t - self.window_s:
                q.popleft()
            if len(q) >= self.per_minute:
                return max(0.0, q[0] + self.window_s - t)
            q.append(t)
            return None
