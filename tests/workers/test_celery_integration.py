"""The Redis path end to end: uvicorn + a real Celery worker process + real Redis + PostgreSQL.

Submit over HTTP, the audit runs to completion on a tiny model, results and report come back;
cancellation of a running and of a queued audit; an audit whose message was never sent is
found by the reconciler (the database is the source of truth) and completes.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from infra.db.models import Audit, StageResult, Tenant, new_id
from infra.db.session import session_factory
from tests.service.conftest import sst_like_tsv, zip_dir
from tests.workers.conftest import base_env, cli, free_port, spawn, stop, wait_healthy, wait_status


@contextmanager
def running_stack(tmp_path: Path, pg_url: str, redis_url: str, queue_prefix: str, **extra: str):  # noqa: ANN201
    """uvicorn + one real Celery worker on Redis/PostgreSQL; yields (client, pg_url, worker log)."""
    env = base_env(tmp_path, pg_url, redis_url, ATTAUDIT_QUEUE_PREFIX=queue_prefix,
                   ATTAUDIT_RECONCILE_INTERVAL_SECONDS="1", ATTAUDIT_QUEUED_GRACE_SECONDS="4",
                   ATTAUDIT_LEASE_SECONDS="10", **extra)
    up = cli(["db", "upgrade"], env)
    assert up.returncode == 0, up.stderr
    keys = cli(["keys", "create", "--tenant", "acme"], env)
    assert keys.returncode == 0, keys.stderr
    key = keys.stdout.strip().splitlines()[-1]
    port = free_port()
    api_log, worker_log = tmp_path / "api.log", tmp_path / "worker.log"
    api = spawn(["serve", "--host", "127.0.0.1", "--port", str(port)], env, api_log)
    worker = spawn(["worker", "--concurrency", "1", "--loglevel", "INFO",
                    "--hostname", f"{queue_prefix}@%h"], env, worker_log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, api, api_log)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
            yield c, pg_url, worker_log
    finally:
        stop(worker)
        stop(api)


@pytest.fixture
def celery_stack(tmp_path: Path, pg_url: str, redis_url: str, queue_prefix: str):  # noqa: ANN201
    with running_stack(tmp_path, pg_url, redis_url, queue_prefix) as stack:
        yield stack


BIG_ROWS = 120_000  # a dataset whose clean evaluation runs long enough to be cancelled


def _upload(c: httpx.Client, model_dir: Path, rows: int = 48) -> tuple[str, str]:
    m = c.post("/v1/models", files={"file": ("m.zip", zip_dir(model_dir))})
    assert m.status_code in (200, 201), m.text
    d = c.post("/v1/datasets", files={"file": ("d.tsv", sst_like_tsv(rows))},
               data={"model_id": m.json()["id"]})
    assert d.status_code == 201, d.text
    return m.json()["id"], d.json()["id"]


def assert_clean_eval_consistent(results: dict) -> None:
    """The JSON twin's numbers agree with each other (accuracy = trace(confusion) / n)."""
    ev = results["stages"]["clean_eval"]
    conf = ev["confusion"]
    assert sum(map(sum, conf)) == ev["n"] > 0
    assert ev["accuracy"] == pytest.approx(sum(conf[i][i] for i in range(len(conf))) / ev["n"])
    assert results["summary"]["clean_accuracy"] == pytest.approx(ev["accuracy"])


def test_celery_path_end_to_end(celery_stack, tiny_bert_dir: Path) -> None:  # noqa: ANN001
    c, db, worker_log = celery_stack
    health = c.get("/v1/health").json()
    assert {k: health[k] for k in ("status", "database", "broker", "mode")} == {
        "status": "ok", "database": True, "broker": True, "mode": "celery"}
    assert health["workers"]["alive"] == 1  # the Celery worker's heartbeat row
    model_id, ds_id = _upload(c, tiny_bert_dir)
    r = c.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id, "stages": ["clean_eval"]})
    assert r.status_code == 202 and r.json()["status"] == "queued"
    aid = r.json()["id"]
    done = wait_status(c, aid, ("succeeded", "failed", "cancelled"), timeout=150)
    assert done["status"] == "succeeded", (done, worker_log.read_text()[-3000:])
    assert done["progress"] == 1.0 and done["started_at"] <= done["finished_at"]
    results = c.get(f"/v1/audits/{aid}/results").json()
    assert_clean_eval_consistent(results)
    report = c.get(f"/v1/audits/{aid}/report")
    assert report.status_code == 200 and "<html" in report.text.lower()
    with session_factory(db)() as s:
        assert s.scalar(select(func.count()).select_from(StageResult)
                        .where(StageResult.audit_id == aid)) == 1

    # cancel: a long running audit stops at a progress tick; the one queued behind it never starts
    # The running audit must outlast the two DELETEs on an idle machine too: 60,000 evaluation
    # rows take about a minute on the tiny model, and the cancel stops it at the next tick.
    _, big_ds = _upload(c, tiny_bert_dir, rows=BIG_ROWS)
    body = {"model_id": model_id, "dataset_id": big_ds, "stages": ["clean_eval"], "seed": 1,
            "eval_examples": BIG_ROWS // 2}
    running = c.post("/v1/audits", json=body).json()["id"]
    queued = c.post("/v1/audits", json={**body, "seed": 2}).json()["id"]
    wait_status(c, running, ("running",), timeout=60, pred=lambda s: s["progress"] > 0)
    assert c.delete(f"/v1/audits/{queued}").json()["status"] == "cancelled"
    assert c.delete(f"/v1/audits/{running}").status_code == 202
    stopped = wait_status(c, running, ("cancelled", "succeeded", "failed"), timeout=60)
    assert stopped["status"] == "cancelled", stopped
    assert c.get(f"/v1/audits/{running}/report").json()["error"]["code"] == "audit_not_finished"
    with session_factory(db)() as s:
        for audit_id in (running, queued):
            assert s.scalar(select(func.count()).select_from(StageResult)
                            .where(StageResult.audit_id == audit_id)) == 0
        assert s.get(Audit, queued).started_at is None

    # a "lost message": an audit row committed but never sent; the worker's reconciler finds it
    with session_factory(db)() as s:
        template = s.get(Audit, aid)
        lost = Audit(id=new_id(), tenant_id=template.tenant_id, model_id=model_id, dataset_id=ds_id,
                     config={**template.config, "seed": 3}, stages=["clean_eval"], status="queued",
                     run_token=new_id(), report_files={})
        s.add(lost)
        s.commit()
        old_token = lost.run_token
    done = wait_status(c, lost.id, ("succeeded", "failed"), timeout=90)
    assert done["status"] == "succeeded"
    with session_factory(db)() as s:
        assert s.get(Audit, lost.id).run_token != old_token  # re-enqueued under a fresh token


@pytest.mark.slow
def test_a_stage_stuck_in_native_code_is_stopped_by_the_hard_time_limit(
        tmp_path: Path, pg_url: str, redis_url: str, queue_prefix: str, tiny_bert_dir: Path) -> None:
    """The Celery path's counterpart of the supervisor test: time_budget_s=15, grace 3 s, a stage
    inside one long batch of tokenizer calls (no progress tick). Celery's hard limit kills the pool
    process, the audit fails with the sentence (not a lease expiry and a re-send into the same
    hang), and the worker runs the next audit."""
    from infra.storage import ArtifactStore
    from tests.workers.panicky import build, slow_rows
    from tests.workers.placing import place_model

    with running_stack(tmp_path, pg_url, redis_url, queue_prefix, ATTAUDIT_BUDGET_GRACE_SECONDS="3") as (c, url, log):
        sessions = session_factory(url)
        with sessions() as s:
            tenant = s.scalar(select(Tenant.id).where(Tenant.name == "acme"))
        store = ArtifactStore(tmp_path / "storage")  # ATTAUDIT_STORAGE_DIR of the stack (base_env)
        slow_dir = build(tiny_bert_dir, tmp_path / "slow", "slow")
        slow = place_model(sessions, store, tenant, slow_dir)
        ds = c.post("/v1/datasets", files={"file": ("d.tsv", slow_rows(slow_dir, 15 + 3))})
        assert ds.status_code == 201, ds.text
        r = c.post("/v1/audits", json={"model_id": slow, "dataset_id": ds.json()["id"],
                                       "stages": ["clean_eval"], "time_budget_s": 15})
        assert r.status_code == 202, r.text
        state = wait_status(c, r.json()["id"], ("failed", "succeeded"), timeout=180)
        assert state["status"] == "failed", state
        assert "time budget plus its grace (18 s in all)" in state["error"], state["error"]
        assert "Hard time limit" in log.read_text()
        good_model, good_ds = _upload(c, tiny_bert_dir)
        ok = c.post("/v1/audits", json={"model_id": good_model, "dataset_id": good_ds, "stages": ["clean_eval"]})
        assert wait_status(c, ok.json()["id"], ("failed", "succeeded"), timeout=180)["status"] == "succeeded"
