"""Supervision, in-process: what every worker (Celery task or embedded executor) runs when a
stage raises a native panic, the attempt cap that ends a poison audit, the claim order that keeps
it from starving the queue, and health built from worker heartbeats.

The real-process counterparts (serve, kills, restarts, SIGTERM) are in test_supervised_serve.py.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from infra.db.models import Audit, Tenant, WorkerRow, utcnow
from tests.service.conftest import Api, make_settings, sst_like_tsv
from tests.workers.panicky import build, slow_rows, trigger_rows
from tests.workers.placing import place_model
from workers import liveness
from workers.context import WorkerContext
from workers.embedded import EmbeddedWorker
from workers.execution import execute_stage


def _tenant_id(api: Api, name: str) -> str:
    with api.app.state.sessions() as s:
        return s.scalar(select(Tenant.id).where(Tenant.name == name))


def _audit(api: Api, h: dict, model_id: str, ds_id: str, **opts) -> str:
    r = api.client.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id,
                                            "stages": ["clean_eval"], **opts}, headers=h)
    assert r.status_code == 202, r.text
    return r.json()["id"]


def _token(ctx: WorkerContext, audit_id: str) -> str:
    with ctx.sessions() as s:
        return s.get(Audit, audit_id).run_token


@pytest.mark.parametrize("kind", ["load", "text"])
def test_a_tokenizer_panic_fails_its_audit_not_the_worker(kind: str, tmp_path: Path, sqlite_url: str,
                                                         tiny_bert_dir: Path, tiny_zip: bytes,
                                                         reliability) -> None:
    api = Api(make_settings(tmp_path, sqlite_url))
    ctx = WorkerContext.from_settings(api.settings)
    mallory, alice = api.key("mallory"), api.key("alice")
    bad_dir = build(tiny_bert_dir, tmp_path / f"panics-at-{kind}", kind)
    if kind == "text":  # precondition: the tokenizer as transformers loads it panics on the text
        from transformers import AutoTokenizer

        from tests.workers.panicky import TRIGGER

        try:
            AutoTokenizer.from_pretrained(bad_dir)(f"{TRIGGER} the film was good")
        except BaseException:  # noqa: BLE001 - the Rust panic this test needs
            pass
        else:
            pytest.skip("this transformers version rebuilds the tokenizer without its panicking "
                        "normalizer (transformers 5); the transformers 4 run covers the case")
    # placed as if uploaded before the upload-time tokenizer check existed (or past it)
    bad = place_model(api.app.state.sessions, api.app.state.store, _tenant_id(api, "mallory"), bad_dir)
    data = trigger_rows(48) if kind == "text" else sst_like_tsv(48)
    ds = api.upload_dataset(mallory, data).json()["id"]
    poison = _audit(api, mallory, bad, ds)

    outcome = execute_stage(ctx, poison, "clean_eval", _token(ctx, poison))  # what the Celery task runs
    assert outcome == "failed"
    state = api.client.get(f"/v1/audits/{poison}", headers=mallory).json()
    assert state["status"] == "failed" and state["error"].startswith("PanicException: "), state
    assert ("Precompiled" if kind == "load" else "index out of bounds") in state["error"]

    # the same process goes on: another tenant's audit succeeds
    good = api.upload_model(alice, tiny_zip).json()["id"]
    good_ds = api.upload_dataset(alice, sst_like_tsv(48), model_id=good).json()["id"]
    ok = _audit(api, alice, good, good_ds)
    assert EmbeddedWorker(ctx).run_once() == "done"
    assert api.client.get(f"/v1/audits/{ok}", headers=alice).json()["status"] == "succeeded"
    reliability.row("supervision", case=f"tokenizer panics at {kind} (in-process stage, as a Celery task runs it)",
                    audit="failed", error=state["error"][:70], next_audit_other_tenant="succeeded",
                    worker="kept running")


def test_a_poison_audit_waits_behind_fresh_ones_and_fails_after_the_attempt_cap(
        tmp_path: Path, sqlite_url: str, tiny_zip: bytes) -> None:
    api = Api(make_settings(tmp_path, sqlite_url, max_stage_attempts=2))
    ctx = WorkerContext.from_settings(api.settings)
    h = api.key("acme")
    model = api.upload_model(h, tiny_zip).json()["id"]
    ds = api.upload_dataset(h, sst_like_tsv(48), model_id=model).json()["id"]
    poison, fresh = _audit(api, h, model, ds), _audit(api, h, model, ds, seed=3)
    note = "the stage process was killed by SIGKILL during stage clean_eval"
    lapsed = utcnow() - timedelta(seconds=5)
    with ctx.sessions() as s:  # one attempt already died holding the lease (older than `fresh`)
        s.execute(update(Audit).where(Audit.id == poison).values(
            status="running", attempts=1, error=note, current_stage="clean_eval",
            lease_owner="elsewhere:1", lease_until=lapsed, started_at=lapsed))
        s.commit()
    claimed = EmbeddedWorker(ctx).claim_next()
    assert claimed is not None and claimed[0] == fresh  # fewer attempts first, not oldest first
    with ctx.sessions() as s:
        s.execute(update(Audit).where(Audit.id == fresh).values(lease_owner=None, lease_until=None))
        s.execute(update(Audit).where(Audit.id == poison).values(attempts=2))  # a second death
        s.commit()
    assert execute_stage(ctx, poison, "clean_eval", _token(ctx, poison)) == "failed"
    state = api.client.get(f"/v1/audits/{poison}", headers=h).json()
    assert state["status"] == "failed"
    assert "started 2 times" in state["error"] and note in state["error"]
    assert "max_stage_attempts=2" in state["error"]


def test_a_stage_result_resets_the_attempt_count(tmp_path: Path, sqlite_url: str, tiny_zip: bytes) -> None:
    api = Api(make_settings(tmp_path, sqlite_url, max_stage_attempts=2))
    ctx = WorkerContext.from_settings(api.settings)
    h = api.key("acme")
    model = api.upload_model(h, tiny_zip).json()["id"]
    ds = api.upload_dataset(h, sst_like_tsv(48), model_id=model).json()["id"]
    aid = _audit(api, h, model, ds)
    with ctx.sessions() as s:
        s.execute(update(Audit).where(Audit.id == aid).values(attempts=1, error="an earlier attempt died"))
        s.commit()
    assert execute_stage(ctx, aid, "clean_eval", _token(ctx, aid)) == "done"  # attempt 2 of 2 succeeds
    with ctx.sessions() as s:
        row = s.get(Audit, aid)
        assert row.attempts == 0 and row.error is None


def test_health_counts_live_workers_and_answers_503_without_one(tmp_path: Path, sqlite_url: str,
                                                               reliability) -> None:
    api = Api(make_settings(tmp_path, sqlite_url, worker_stale_seconds=30))
    ctx = WorkerContext.from_settings(api.settings)
    r = api.client.get("/v1/health")
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["status"] == "degraded" and body["database"] is True
    assert body["workers"] == {"alive": 0, "last_heartbeat": None, "queue_depth": 0, "running": 0}
    assert "no worker" in body["detail"].lower()

    liveness.beat(ctx, "embedded", name="host:1")
    r = api.client.get("/v1/health")
    assert r.status_code == 200 and r.json()["workers"]["alive"] == 1 and r.json()["detail"] is None

    with ctx.sessions() as s:  # the worker stops beating (killed): stale after 30 s
        s.execute(update(WorkerRow).values(last_seen=utcnow() - timedelta(seconds=31)))
        s.commit()
    r = api.client.get("/v1/health")
    assert r.status_code == 503 and r.json()["workers"]["alive"] == 0
    assert r.json()["workers"]["last_heartbeat"] is not None
    liveness.forget(ctx, "host:1")
    with ctx.sessions() as s:
        assert s.scalar(select(WorkerRow.id)) is None
    reliability.row("supervision", case="health with no live worker", audit="",
                    error=body["detail"][:70], next_audit_other_tenant="", worker="503 (was 200 'ok')")


@pytest.mark.slow
def test_the_supervisor_stops_a_stage_stuck_in_native_code_past_its_budget(
        tmp_path: Path, sqlite_url: str, tiny_bert_dir: Path, tiny_zip: bytes, reliability) -> None:
    """time_budget_s=20 with a 3 s grace: the stage spends ~20 s inside one batch of tokenizer
    calls (no progress tick, so the tick check never runs); the supervisor kills its process,
    fails the audit with the budget sentence, and a fresh executor runs the next audit."""
    import time

    from workers.supervisor import Supervisor

    api = Api(make_settings(tmp_path, sqlite_url, budget_grace_seconds=3, worker_heartbeat_seconds=0.5))
    ctx = WorkerContext.from_settings(api.settings)
    h = api.key("acme")
    slow_dir = build(tiny_bert_dir, tmp_path / "slow", "slow")
    slow = place_model(api.app.state.sessions, api.app.state.store, _tenant_id(api, "acme"), slow_dir)
    ds = api.upload_dataset(h, slow_rows(slow_dir, 20 + 3)).json()["id"]
    stuck = _audit(api, h, slow, ds, time_budget_s=20)
    sup = Supervisor(ctx)
    try:
        t0 = time.monotonic()
        assert sup.run_once() == "failed"
        took = time.monotonic() - t0
        state = api.client.get(f"/v1/audits/{stuck}", headers=h).json()
        assert state["status"] == "failed" and "time budget of 20 s exceeded" in state["error"], state
        assert "its process was stopped" in state["error"] and sup.proc is None
        good = api.upload_model(h, tiny_zip).json()["id"]
        good_ds = api.upload_dataset(h, sst_like_tsv(48), model_id=good).json()["id"]
        ok = _audit(api, h, good, good_ds)
        assert sup.run_once() == "done"
        assert api.client.get(f"/v1/audits/{ok}", headers=h).json()["status"] == "succeeded"
    finally:
        sup._stop_executor()
    reliability.row("supervision", case="stage stuck in native tokenizer code (time_budget_s=20, grace 3 s)",
                    audit="failed", error=state["error"][:70], next_audit_other_tenant="succeeded (new executor)",
                    worker=f"stage process killed; {took:.0f} s from claim")
