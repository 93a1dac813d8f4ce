"""A real attaudit deployment in miniature, run by the tests: API (uvicorn), Celery workers,
Redis (a dedicated DB number) and PostgreSQL. Processes are started with ``python -m attaudit``
and killed by pid (never by name) so tests can crash them on purpose.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """Settings shared by every process, plus start/kill helpers and DB inspection."""

    def __init__(self, tmp: Path, database_url: str, redis_db: int, **settings: object) -> None:
        self.tmp, self.redis_db = tmp, redis_db
        self.prefix = f"rel{uuid.uuid4().hex[:8]}_"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "ATTAUDIT_DATA_DIR": str(tmp),
            "ATTAUDIT_DATABASE_URL": database_url,
            "ATTAUDIT_BROKER_URL": f"redis://127.0.0.1:6379/{redis_db}",
            "ATTAUDIT_STORAGE_DIR": str(tmp / "storage"),
            "ATTAUDIT_QUEUE_PREFIX": self.prefix,
            "ATTAUDIT_LEASE_SECONDS": "4",
            "ATTAUDIT_QUEUED_GRACE_SECONDS": "6",
            "ATTAUDIT_RECONCILE_INTERVAL_SECONDS": "1",
            "ATTAUDIT_PROGRESS_INTERVAL_SECONDS": "0.5",
            "ATTAUDIT_MAX_CONCURRENT_AUDITS": "1000",
            "ATTAUDIT_RATE_LIMIT_PER_MINUTE": "1000000",
        } | {f"ATTAUDIT_{k.upper()}": str(v) for k, v in settings.items()}
        self.procs: dict[str, subprocess.Popen] = {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.sessions = None
        self._run(["db", "upgrade"])
        from infra.db.session import session_factory

        self.sessions = session_factory(database_url)

    # -- processes --------------------------------------------------------------------------
    def _run(self, args: list[str]) -> str:
        out = subprocess.run([sys.executable, "-m", "attaudit", *args], cwd=ROOT, env=self.env,
                             capture_output=True, text=True, timeout=120, check=True)
        return out.stdout

    def key(self, tenant: str) -> str:
        return self._run(["keys", "create", "--tenant", tenant]).strip().splitlines()[-1]

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([sys.executable, "-m", "attaudit", *args], cwd=ROOT, env=self.env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def start_api(self) -> subprocess.Popen:
        proc = self.start("api", ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"])
        deadline = time.time() + 60
        while time.time() < deadline:
            try:  # up and on its database; 503 until a worker's heartbeat arrives (workers start later)
                r = httpx.get(f"{self.url}/v1/health", timeout=2)
                if r.status_code in (200, 503) and r.json().get("database") and r.json().get("broker"):
                    return proc
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"API exited: {self.log('api')[-2000:]}")
            time.sleep(0.2)
        raise RuntimeError("API did not become healthy in 60 s")

    def start_worker(self, name: str, *, concurrency: int = 1, reconciler: bool = True) -> subprocess.Popen:
        args = ["worker", "--concurrency", str(concurrency), "--pool", "prefork", "--hostname", f"{name}@{self.prefix}",
                "--loglevel", "INFO"] + ([] if reconciler else ["--no-reconciler"])
        return self.start(name, args)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill a process group we started (the worker's pool children die with it)."""
        proc = self.procs.pop(name)
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM if name == "api" else signal.SIGKILL)

    # -- database -----------------------------------------------------------------------------
    def audits(self) -> list:
        from infra.db.models import Audit

        with self.sessions() as s:
            return list(s.scalars(select(Audit)))

    def stage_counts(self) -> dict[tuple[str, str], int]:
        from infra.db.models import StageResult

        with self.sessions() as s:
            rows = s.execute(select(StageResult.audit_id, StageResult.stage, func.count())
                             .group_by(StageResult.audit_id, StageResult.stage)).all()
        return {(a, st): n for a, st, n in rows}

    def wait_for(self, predicate, timeout: float, what: str, poll: float = 0.2):  # noqa: ANN001, ANN201
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(poll)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")

    def all_finished(self, ids: set[str]) -> bool:
        return all(a.status in ("succeeded", "failed", "cancelled") for a in self.audits() if a.id in ids)
