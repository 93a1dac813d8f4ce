"""``attaudit serve`` keeps its embedded worker alive: restart it when it dies, stop it on exit.

The worker (``python -m attaudit worker --parent-pid <serve>``) asks the kernel for SIGTERM when
serve dies (``workers.parentage``), so even a SIGKILL of serve leaves no orphan. A worker that
dies is started again after a back-off that doubles (from 1 s up to 30 s) while it keeps dying
within 10 s of its start. No torch and no database here: only processes.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

log = logging.getLogger(__name__)


class WorkerKeeper:
    def __init__(self, env: dict[str, str] | None = None, *, min_uptime_s: float = 10.0,
                 max_backoff_s: float = 30.0, stop_timeout_s: float = 20.0) -> None:
        self.env = env if env is not None else os.environ.copy()
        self.min_uptime_s, self.max_backoff_s, self.stop_timeout_s = min_uptime_s, max_backoff_s, stop_timeout_s
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def _spawn(self) -> None:
        argv = [sys.executable, "-m", "attaudit", "worker", "--parent-pid", str(os.getpid())]
        with self._lock:
            self.proc = subprocess.Popen(argv, env=self.env)
            self._started = time.monotonic()
        log.info("serve: embedded worker started (pid %d)", self.proc.pid)

    def start(self) -> None:
        self._spawn()
        self._thread = threading.Thread(target=self._watch, name="attaudit-worker-keeper", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        backoff = 1.0
        while not self._stop.wait(0.5):
            proc = self.proc
            if proc is None or proc.poll() is None:
                continue
            quick = time.monotonic() - self._started < self.min_uptime_s
            backoff = min(self.max_backoff_s, backoff * 2) if quick else 1.0
            print(f"attaudit serve: the embedded worker (pid {proc.pid}) exited with code "
                  f"{proc.returncode}; restarting it in {backoff:g} s", file=sys.stderr, flush=True)
            if self._stop.wait(backoff):
                return
            self.restarts += 1
            self._spawn()

    def stop(self) -> None:
        """Stop watching, then SIGTERM the worker (SIGKILL after ``stop_timeout_s``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
