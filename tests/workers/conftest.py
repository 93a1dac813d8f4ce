"""Live-process fixtures: real Redis, a real Celery worker process, uvicorn in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import reliability_figures
from tests.service.conftest import db_url, pg_url, sqlite_url, tiny_zip  # noqa: F401 - re-exported fixtures

ROOT = Path(__file__).resolve().parents[2]
REDIS_DB = 13  # dedicated to these tests; queue names carry a per-run prefix as well


def pytest_configure(config: pytest.Config) -> None:
    reliability_figures.register(config)  # supervision tests record figures for docs/reliability.md


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "attaudit", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    fh = open(log, "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "attaudit", *args], cwd=ROOT, env=env,
                            stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=5)


def wait_healthy(base: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"server not healthy after {timeout}s:\n{log.read_text()[-3000:]}")


def base_env(tmp: Path, database_url: str, broker_url: str = "", **extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "ATTAUDIT_DATA_DIR": str(tmp),
           "ATTAUDIT_DATABASE_URL": database_url, "ATTAUDIT_BROKER_URL": broker_url,
           "ATTAUDIT_STORAGE_DIR": str(tmp / "storage"),
           "ATTAUDIT_PROGRESS_INTERVAL_SECONDS": "0.3", "ATTAUDIT_POLL_INTERVAL_SECONDS": "0.3"}
    env.update(extra)
    return env


def wait_status(client: httpx.Client, audit_id: str, statuses: tuple[str, ...], timeout: float = 120,
                pred=None) -> dict:  # noqa: ANN001
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        state = client.get(f"/v1/audits/{audit_id}").json()
        if state["status"] in statuses and (pred is None or pred(state)):
            return state
        time.sleep(0.2)
    raise AssertionError(f"audit {audit_id} not in {statuses} after {timeout}s: {state}")


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    redis.Redis.from_url(url).ping()
    return url


@pytest.fixture
def queue_prefix(redis_url: str) -> Iterator[str]:
    """Unique queue names for one test run; their keys are deleted afterwards."""
    import redis

    prefix = f"t{uuid.uuid4().hex[:8]}_"
    yield prefix
    r = redis.Redis.from_url(redis_url)
    for pattern in (f"{prefix}*", f"_kombu.binding.{prefix}*"):
        for key in r.scan_iter(pattern):
            r.delete(key)
