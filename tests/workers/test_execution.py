"""Stage and report execution in-process (the code both Celery tasks and the embedded worker
run): idempotent, token-guarded, one transaction per stage, failures recorded, model cached."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, update

from infra.db.models import Audit, StageResult
from tests.service.conftest import Api, make_settings, sst_like_tsv
from workers import model_cache
from workers.context import WorkerContext
from workers.embedded import EmbeddedWorker
from workers.execution import execute_report, execute_stage


def _queued_clean_eval_audit(tmp_path: Path, sqlite_url: str, tiny_zip: bytes):
    """An API with one tenant (key header ``h``), the tiny model, a 48-row dataset and a queued
    clean_eval audit: (api, ctx, h, model_id, ds_id, audit id)."""
    api = Api(make_settings(tmp_path, sqlite_url))
    ctx = WorkerContext.from_settings(api.settings)
    h = api.key("acme")
    model_id = api.upload_model(h, tiny_zip).json()["id"]
    ds_id = api.upload_dataset(h, sst_like_tsv(48), model_id=model_id).json()["id"]
    aid = api.client.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id,
                                              "stages": ["clean_eval"]}, headers=h).json()["id"]
    return api, ctx, h, model_id, ds_id, aid


def test_stage_tasks_are_idempotent_and_token_guarded(tmp_path: Path, sqlite_url: str,
                                                      tiny_zip: bytes) -> None:
    api, ctx, h, model_id, ds_id, aid = _queued_clean_eval_audit(tmp_path, sqlite_url, tiny_zip)
    token = None
    with ctx.sessions() as s:
        token = s.get(Audit, aid).run_token

    assert execute_stage(ctx, aid, "clean_eval", "not-the-token") == "stale"
    assert execute_stage(ctx, aid, "clean_eval", token) == "done"
    assert execute_stage(ctx, aid, "clean_eval", token) == "skipped"  # a redelivered message
    with ctx.sessions() as s:
        row = s.get(Audit, aid)
        assert row.status == "running" and row.lease_owner is None and row.progress == 0.5
        assert s.scalar(select(func.count()).select_from(StageResult)) == 1
    assert execute_report(ctx, aid, token) == "done"
    assert execute_report(ctx, aid, token) == "stale"  # already succeeded
    state = api.client.get(f"/v1/audits/{aid}", headers=h).json()
    assert state["status"] == "succeeded" and state["progress"] == 1.0
    results = api.client.get(f"/v1/audits/{aid}/results", headers=h)
    assert results.json()["summary"]
    # no server path in what a tenant reads: the report names the uploads, not the store
    assert str(tmp_path) not in results.text
    meta = results.json()["metadata"]
    assert meta["model"]["path"].endswith(f"(model {model_id})")
    assert meta["dataset"]["path"].endswith(f"(dataset {ds_id})")

    # the loaded model is cached per process: the report and a second audit reuse it
    loads = model_cache.stats["loads"]
    audit2 = api.client.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id,
                                                 "stages": ["clean_eval"], "seed": 5}, headers=h).json()
    assert EmbeddedWorker(ctx).run_once() == "done"
    assert model_cache.stats["loads"] == loads and model_cache.stats["hits"] >= 1
    assert api.client.get(f"/v1/audits/{audit2['id']}", headers=h).json()["status"] == "succeeded"

    # a permanent error is recorded on the audit (failed + message), not retried
    audit3 = api.client.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id,
                                                 "stages": ["clean_eval"], "seed": 6}, headers=h).json()
    with ctx.sessions() as s:
        row = s.get(Audit, audit3["id"])
        s.execute(update(Audit).where(Audit.id == row.id).values(
            config={**row.config, "text_column": "no_such_column"}))
        s.commit()
    assert EmbeddedWorker(ctx).run_once() == "failed"
    failed = api.client.get(f"/v1/audits/{audit3['id']}", headers=h).json()
    assert failed["status"] == "failed" and "no_such_column" in failed["error"]
    assert failed["finished_at"] is not None

    # a cancel flag set before the stage starts: it never runs
    audit4 = api.client.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id,
                                                 "stages": ["clean_eval"], "seed": 7}, headers=h).json()
    with ctx.sessions() as s:
        s.execute(update(Audit).where(Audit.id == audit4["id"]).values(cancel_requested=True))
        s.commit()
        token4 = s.get(Audit, audit4["id"]).run_token
    assert execute_stage(ctx, audit4["id"], "clean_eval", token4) == "cancelled"
    assert api.client.get(f"/v1/audits/{audit4['id']}", headers=h).json()["status"] == "cancelled"


def test_trigger_rows_follow_the_triggers_stage_result() -> None:
    from workers.execution import _trigger_rows

    result = {"triggers": [{"tokens": ["worst", "dull"], "pushed_label": "LABEL_0", "success_rate": 0.5},
                           {"tokens": ["fun"], "pushed_label": "LABEL_1", "success_rate": 0.25}]}
    rows = _trigger_rows("a1", result)
    assert [(r.rank, r.text) for r in rows] == [(0, "worst dull"), (1, "fun")]
    assert rows[1].data["success_rate"] == 0.25 and all(r.audit_id == "a1" for r in rows)
    assert _trigger_rows("a1", {"triggers": [], "note": "none"}) == []


def test_embedded_worker_gives_an_audit_back_on_shutdown(tmp_path: Path, sqlite_url: str,
                                                         tiny_zip: bytes) -> None:
    import threading

    api, ctx, h, model_id, ds_id, aid = _queued_clean_eval_audit(tmp_path, sqlite_url, tiny_zip)
    stopping = threading.Event()
    worker = EmbeddedWorker(ctx, stopping)
    claimed = worker.claim_next()
    assert claimed is not None and claimed[0] == aid
    assert EmbeddedWorker(ctx).claim_next() is None  # leased: nobody else takes it
    stopping.set()
    assert worker.run_audit(*claimed) == "interrupted"
    with ctx.sessions() as s:
        row = s.get(Audit, aid)
        assert row.lease_owner is None and row.status == "queued"
    assert EmbeddedWorker(ctx).run_once() == "done"  # the next worker resumes it at once
    assert api.client.get(f"/v1/audits/{aid}", headers=h).json()["status"] == "succeeded"


def test_the_verdict_is_persisted_and_served(tmp_path: Path, sqlite_url: str, tiny_zip: bytes) -> None:
    """GET /v1/audits/{id} returns the triggers stage's verdict once the worker stored the stage."""
    api, ctx, h, model_id, ds_id, _ = _queued_clean_eval_audit(tmp_path, sqlite_url, tiny_zip)
    aid = api.client.post("/v1/audits", json={
        "model_id": model_id, "dataset_id": ds_id, "stages": ["triggers"], "mining_examples": 6,
        "eval_examples": 12, "importance_examples": 6, "steps": 2, "triggers": 2, "seed": 3,
        "judges": [{"name": "lexicon", "words": {"LABEL_0": ["bad"], "LABEL_1": ["good"]}}]},
        headers=h).json()["id"]
    assert api.client.get(f"/v1/audits/{aid}", headers=h).json()["verdict"] is None  # not run yet
    with ctx.sessions() as s:
        token = s.get(Audit, aid).run_token
    assert execute_stage(ctx, aid, "triggers", token) == "done"
    verdict = api.client.get(f"/v1/audits/{aid}", headers=h).json()["verdict"]
    with ctx.sessions() as s:
        stored = s.scalar(select(StageResult).where(StageResult.audit_id == aid)).result
    assert verdict == stored["result"]["verdict"]
    assert set(verdict["counts"]) == {"label-bearing", "spurious", "counter-evidence"}
    assert verdict["headline"] and len(verdict["per_class"]) == 2
    assert verdict["evidence"]["judges"][0]["name"] == "lexicon"
