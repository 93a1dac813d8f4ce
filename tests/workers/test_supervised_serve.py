"""`attaudit serve` (embedded default) with real processes: native panics in a tenant's
tokenizer, SIGKILLs of the worker, SIGTERM and SIGKILL of serve itself.

- each panicking audit fails with its reason, the next audit of another tenant succeeds and the
  worker process stays the same one;
- a SIGKILLed worker is restarted by serve; the audit it was running is retried and, killed
  again, failed after ``max_stage_attempts`` with a reason, while a later audit of another
  tenant goes first and succeeds; health tells the truth throughout;
- SIGTERM (and SIGKILL) of serve leaves no process of the service running.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from infra.db.models import Audit, Tenant
from infra.db.session import session_factory
from infra.settings import Settings
from infra.storage import ArtifactStore
from tests.service.conftest import sst_like_tsv
from tests.workers.conftest import base_env, cli, free_port, spawn, wait_status
from tests.workers.panicky import build, trigger_rows
from tests.workers.placing import place_model

pytestmark = pytest.mark.slow


def _state(pid: int) -> str | None:
    """The process state letter, None when gone; a zombie counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state = stat[stat.rindex(")") + 2]
    return None if state in "ZX" else state


def _children(pid: int) -> list[int]:
    """Children of every thread of ``pid`` (serve restarts its worker from a watcher thread)."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _executors(worker: int) -> list[int]:
    """The worker's stage executor(s): its children other than multiprocessing's resource tracker."""
    out = []
    for pid in _children(worker):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in cmd and _state(pid):
            out.append(pid)
    return out


def _tree(pid: int) -> list[int]:
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(_children(p))
    return out


def _wait(pred, timeout: float, what: str):  # noqa: ANN001, ANN202
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = pred()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Serve:
    def __init__(self, tmp: Path, db: str, **settings: str) -> None:
        self.env = base_env(tmp, db, **{f"ATTAUDIT_{k.upper()}": str(v) for k, v in settings.items()})
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "serve.log"
        self.proc = spawn(["serve", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                          self.env, self.log)

    def health(self) -> httpx.Response | None:
        try:
            return httpx.get(f"{self.base}/v1/health", timeout=5)
        except httpx.TransportError:
            return None

    def worker_pid(self) -> int | None:
        """The live `attaudit worker` child of serve (the supervisor)."""
        kids = [p for p in _children(self.proc.pid) if _state(p)]
        return kids[0] if len(kids) == 1 else None

    def wait_healthy(self, timeout: float = 90) -> dict:
        def ok():  # noqa: ANN202
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited:\n{self.log.read_text()[-3000:]}")
            r = self.health()
            return r.json() if r is not None and r.status_code == 200 else None
        return _wait(ok, timeout, "a healthy serve with a live worker")

    def key(self, tenant: str) -> str:
        r = cli(["keys", "create", "--tenant", tenant], self.env)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip().splitlines()[-1]

    def client(self, key: str) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {key}"}, timeout=60)

    def sigterm_and_check_no_orphan(self, timeout: float = 40) -> tuple[int, float]:
        pids = [p for p in _tree(self.proc.pid) if _state(p)]
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=timeout)
        _wait(lambda: not any(_state(p) for p in pids), 15, f"processes {pids} to end after SIGTERM")
        return len(pids), time.monotonic() - t0


def _store(serve: Serve, db: str) -> tuple:
    settings = Settings(data_dir=Path(serve.env["ATTAUDIT_DATA_DIR"]), database_url=db,
                        storage_dir=Path(serve.env["ATTAUDIT_STORAGE_DIR"]), broker_url="")
    return session_factory(db), ArtifactStore(settings.storage_path)


def _tenant(sessions, name: str) -> str:  # noqa: ANN001
    with sessions() as s:
        return s.scalar(select(Tenant.id).where(Tenant.name == name))


def _submit(c: httpx.Client, model: str, ds: str, **opts) -> str:
    r = c.post("/v1/audits", json={"model_id": model, "dataset_id": ds, "stages": ["clean_eval"], **opts})
    assert r.status_code == 202, r.text
    return r.json()["id"]


def _upload(c: httpx.Client, zip_bytes: bytes, data: bytes) -> tuple[str, str]:
    model = c.post("/v1/models", files={"file": ("m.zip", zip_bytes)}).json()["id"]
    r = c.post("/v1/datasets", files={"file": ("d.tsv", data)}, data={"model_id": model})
    assert r.status_code in (200, 201), r.text
    return model, r.json()["id"]


def test_panics_fail_one_audit_each_and_the_worker_keeps_going(tmp_path: Path, sqlite_url: str,
                                                               tiny_bert_dir: Path, tiny_zip: bytes,
                                                               reliability) -> None:
    serve = Serve(tmp_path, sqlite_url, worker_heartbeat_seconds=0.5, worker_stale_seconds=5)
    try:
        serve.wait_healthy()
        mallory, alice = serve.client(serve.key("mallory")), serve.client(serve.key("alice"))
        sessions, store = _store(serve, sqlite_url)
        tid = _tenant(sessions, "mallory")
        poison = {}
        for kind in ("load", "text"):
            model = place_model(sessions, store, tid, build(tiny_bert_dir, tmp_path / kind, kind))
            data = trigger_rows(48) if kind == "text" else sst_like_tsv(48)
            ds = mallory.post("/v1/datasets", files={"file": ("d.tsv", data)}).json()["id"]
            poison[kind] = _submit(mallory, model, ds)
        worker = serve.worker_pid()
        executors_seen: set[int] = set()
        model, ds = _upload(alice, tiny_zip, sst_like_tsv(48))
        ok = _submit(alice, model, ds)
        for kind, aid in poison.items():
            executors_seen.update(_executors(worker))
            final = wait_status(mallory, aid, ("failed", "succeeded", "cancelled"), timeout=180)
            assert final["status"] == "failed" and final["error"].startswith("PanicException"), final
            reliability.row("supervision", case=f"tokenizer panics at {kind} (embedded serve)", audit="failed",
                            error=final["error"][:70], next_audit_other_tenant="", worker="same process")
        assert wait_status(alice, ok, ("failed", "succeeded", "cancelled"), timeout=180)["status"] == "succeeded"
        executors_seen.update(_executors(worker))
        assert serve.worker_pid() == worker, "the worker was replaced: a panic took it down"
        assert len(executors_seen) == 1, f"the executor was replaced: {executors_seen}"
        health = serve.health()
        assert health.status_code == 200 and health.json()["workers"]["alive"] == 1
        n, secs = serve.sigterm_and_check_no_orphan()
        reliability.row("supervision", case="after both panics: the other tenant's audit", audit="succeeded",
                        error="", next_audit_other_tenant="succeeded", worker="same process, health 200")
        reliability.row("supervision", case=f"SIGTERM to serve ({n} processes)", audit="", error="",
                        next_audit_other_tenant="", worker=f"all ended in {secs:.1f} s, no orphan")
    finally:
        if serve.proc.poll() is None:
            os.killpg(serve.proc.pid, signal.SIGKILL)
            serve.proc.wait(10)


def test_a_killed_worker_is_restarted_and_its_audit_failed_after_the_cap(tmp_path: Path, sqlite_url: str,
                                                                        tiny_zip: bytes, reliability) -> None:
    serve = Serve(tmp_path, sqlite_url, max_stage_attempts=2, lease_seconds=3, worker_heartbeat_seconds=0.5,
                  worker_stale_seconds=3)
    try:
        serve.wait_healthy()
        alice, bob = serve.client(serve.key("alice")), serve.client(serve.key("bob"))
        model, big = _upload(alice, tiny_zip, sst_like_tsv(20_000))
        long_audit = _submit(alice, model, big, eval_examples=10_000)
        bob_model, bob_ds = _upload(bob, tiny_zip, sst_like_tsv(48))
        workers, t_kill = [], []
        bob_audit = None
        sessions, _ = _store(serve, sqlite_url)

        def started(attempt: int) -> int | None:
            """The worker pid once it started attempt ``attempt`` of the long audit's stage."""
            pid = serve.worker_pid()
            with sessions() as s:
                a = s.get(Audit, long_audit)
            if pid and a.status == "running" and a.attempts == attempt and a.lease_owner == f"{socket.gethostname()}:{pid}":
                return pid
            return None

        for attempt in (1, 2):
            pid = _wait(lambda n=attempt: started(n), 240, f"attempt {attempt} of the long audit's stage to start")
            workers.append(pid)
            os.kill(pid, signal.SIGKILL)  # the whole worker: its executor dies with it (PDEATHSIG)
            t_kill.append(time.monotonic())
            if bob_audit is None:
                bob_audit = _submit(bob, bob_model, bob_ds)  # submitted after the first kill
            _wait(lambda: (w := serve.worker_pid()) is not None and w not in workers, 60, "serve to restart the worker")
            if attempt == 1:
                health = _wait(lambda: (r := serve.health()) is not None and r.status_code == 200 and r.json(), 60,
                               "health to see the new worker")
                assert health["workers"]["alive"] == 1
        final = wait_status(alice, long_audit, ("failed", "succeeded", "cancelled"), timeout=120)
        assert final["status"] == "failed", final
        assert "started 2 times" in final["error"] and "max_stage_attempts=2" in final["error"], final["error"]
        bob_final = wait_status(bob, bob_audit, ("failed", "succeeded", "cancelled"), timeout=180)
        assert bob_final["status"] == "succeeded", bob_final
        assert bob_final["finished_at"] < final["finished_at"], "the poison audit went before the fresh one"
        health = serve.health()
        assert health.status_code == 200 and health.json()["workers"]["alive"] == 1
        assert health.json()["workers"]["queue_depth"] == 0
        n, secs = serve.sigterm_and_check_no_orphan()
        reliability.row("supervision", case="worker SIGKILLed twice mid-stage (max_stage_attempts=2)",
                        audit="failed", error=final["error"][:70],
                        next_audit_other_tenant="succeeded, ahead of the retry",
                        worker=f"restarted by serve twice; health 200 after; SIGTERM: {n} processes ended in {secs:.1f} s")
    finally:
        if serve.proc.poll() is None:
            os.killpg(serve.proc.pid, signal.SIGKILL)
            serve.proc.wait(10)


def test_sigkill_of_serve_takes_its_worker_along(tmp_path: Path, sqlite_url: str, reliability) -> None:
    serve = Serve(tmp_path, sqlite_url, worker_heartbeat_seconds=0.5)
    try:
        serve.wait_healthy()
        pids = [p for p in _tree(serve.proc.pid) if _state(p)]
        assert len(pids) >= 2, pids  # serve and its worker
        t0 = time.monotonic()
        os.kill(serve.proc.pid, signal.SIGKILL)  # no handler runs: only the kernel's PDEATHSIG
        serve.proc.wait(10)
        _wait(lambda: not any(_state(p) for p in pids), 20, f"{pids} to end after serve's SIGKILL")
        reliability.row("supervision", case=f"SIGKILL to serve ({len(pids)} processes)", audit="", error="",
                        next_audit_other_tenant="", worker=f"worker ended in {time.monotonic() - t0:.1f} s, no orphan")
    finally:
        if serve.proc.poll() is None:
            os.killpg(serve.proc.pid, signal.SIGKILL)
            serve.proc.wait(10)
