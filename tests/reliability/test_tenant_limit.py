"""The per-tenant concurrent-audit limit under a burst, against a real server (uvicorn in a
subprocess, its thread pool answering requests concurrently) on SQLite and on PostgreSQL.

Before the tenant lock, a burst of 20 POSTs against a limit of 4 accepted 18: every request
counted the active audits before any of them inserted one.
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from infra.db.models import Audit
from infra.db.session import session_factory
from tests.reliability.test_crashes import dataset
from tests.service.hostile.corpus import model_files, write_zip
from tests.workers.conftest import base_env, cli, free_port, spawn, stop

LIMIT, BURST = 4, 20


def _wait_up(base: str, proc, log: Path, timeout: float = 60) -> None:  # noqa: ANN001
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited:\n{log.read_text()[-3000:]}")
        try:  # no worker is started here, so health answers 503 with the database up
            if httpx.get(f"{base}/v1/health", timeout=2).json().get("database"):
                return
        except (httpx.TransportError, ValueError):
            pass
        time.sleep(0.2)
    raise AssertionError("serve did not come up")


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_a_burst_of_submissions_gets_exactly_the_limit(db: str, tmp_path: Path, tiny_model: Path,
                                                       request: pytest.FixtureRequest, reliability) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}" if db == "sqlite" else request.getfixturevalue("pg_url")
    env = base_env(tmp_path, url, ATTAUDIT_MAX_CONCURRENT_AUDITS=str(LIMIT),
                   ATTAUDIT_RATE_LIMIT_PER_MINUTE="100000")
    port = free_port()
    base, log = f"http://127.0.0.1:{port}", tmp_path / "serve.log"
    server = spawn(["serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port),
                    "--log-level", "warning"], env, log)
    try:
        _wait_up(base, server, log)
        keys = {t: cli(["keys", "create", "--tenant", t], env).stdout.strip().splitlines()[-1]
                for t in ("burst", "other")}
        ids = {}
        for tenant, key in keys.items():
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
                with open(write_zip(tmp_path / "m.zip", model_files(tiny_model)), "rb") as fh:
                    model = c.post("/v1/models", files={"file": ("m.zip", fh)}).json()["id"]
                ds = c.post("/v1/datasets", files={"file": ("d.tsv", dataset())}).json()["id"]
                ids[tenant] = {"model_id": model, "dataset_id": ds, "stages": ["clean_eval"]}

        barrier = threading.Barrier(BURST)
        codes: list[int] = []
        seconds: list[float] = []
        lock = threading.Lock()

        def submit() -> None:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {keys['burst']}"},
                              timeout=120) as c:
                barrier.wait()
                t0 = time.perf_counter()
                r = c.post("/v1/audits", json=ids["burst"])
                with lock:
                    codes.append(r.status_code)
                    seconds.append(time.perf_counter() - t0)
                if r.status_code == 429:
                    assert r.json()["error"]["code"] == "too_many_audits"

        threads = [threading.Thread(target=submit) for _ in range(BURST)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        assert len(codes) == BURST, f"{BURST - len(codes)} requests did not answer"
        accepted, refused = codes.count(202), codes.count(429)
        assert (accepted, refused) == (LIMIT, BURST - LIMIT), f"codes: {sorted(codes)}"
        with session_factory(url)() as s:
            active = s.scalar(select(func.count()).select_from(Audit).where(Audit.status.in_(("queued", "running"))))
        assert active == LIMIT
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {keys['other']}"}, timeout=60) as c:
            assert c.post("/v1/audits", json=ids["other"]).status_code == 202  # the lock is per tenant
        reliability.row("tenant_limit", database=db, burst=BURST, limit=LIMIT, accepted=accepted, refused=refused,
                        active_rows_after=active, p50_ms=round(statistics.median(seconds) * 1000),
                        max_ms=round(max(seconds) * 1000), other_tenant="accepted")
    finally:
        stop(server)
