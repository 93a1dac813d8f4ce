"""What a stage task and the report task do, shared by Celery tasks and the embedded worker.

Both take ids, re-fetch rows, are idempotent (a stage with a stored result is skipped; a task
carrying a stale ``run_token`` does nothing) and write their result in one transaction.
The science is ``pipeline.AuditRun``, the same code path as the CLI.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from infra.db.models import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    Audit,
    DatasetRow,
    ModelRow,
    StageResult,
    Trigger,
    utcnow,
)
from infra.storage import ArtifactStore
from workers.context import WorkerContext
from workers.lease import Heartbeat, claim

log = logging.getLogger(__name__)

# Outcomes: "done" computed, "skipped" already stored, "stale" superseded/finished,
# "busy" another live worker holds the lease, "cancelled", "failed".
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, ConnectionError, TimeoutError)
# What a stage may raise that must still stop the process: an interpreter exit or Ctrl-C.
# Everything else, including ``BaseException`` subclasses raised by native code
# (``pyo3_runtime.PanicException`` from a Rust panic in ``tokenizers``), fails the audit only.
PROCESS_EXITS: tuple[type[BaseException], ...] = (SystemExit, KeyboardInterrupt)


def _dataset_path(store: ArtifactStore, dataset: DatasetRow, work: Path) -> Path:
    """The pipeline reads the format from the extension: link the blob under one (a hard link,
    no copy, on the store's filesystem; the work directory is removed after its retention)."""
    ext = {"csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl", "parquet": ".parquet"}[dataset.format]
    path = work / "input" / f"data{ext}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(store.blob_path(dataset.sha256), tmp)
        except OSError:
            shutil.copyfile(store.blob_path(dataset.sha256), tmp)
        os.replace(tmp, path)
    return path


def build_run(ctx: WorkerContext, audit: Audit, model: ModelRow, dataset: DatasetRow,
              hb: Heartbeat | None) -> Any:
    """An AuditRun whose model comes from this process's cache (loaded lazily, once) and whose
    stage results live in the database (``workers.stage_store``)."""
    from pipeline import AuditConfig, AuditRun
    from workers.model_cache import get_loaded
    from workers.stage_store import DatabaseResultStore

    store = ctx.store.for_tenant(audit.tenant_id)
    work = store.work_dir(audit.id)
    return AuditRun(store.tree_path(model.sha256), _dataset_path(store, dataset, work),
                    AuditConfig(**audit.config), work,
                    progress=hb.progress if hb else None,
                    should_cancel=_with_budgets(ctx, audit, hb) if hb else None,
                    loader=get_loaded, store=DatabaseResultStore(ctx.sessions, audit.id),
                    model_name=f"{model.filename} (model {model.id})",
                    data_name=f"{dataset.filename} (dataset {dataset.id})")


def _with_budgets(ctx: WorkerContext, audit: Audit, hb: Heartbeat):  # noqa: ANN202
    """The cancel hook, which also enforces the audit's time and the worker's memory budget."""
    from workers.budgets import budget_check

    check = budget_check(time_budget(ctx, audit), audit.started_at, ctx.settings.worker_memory_mb)

    def should_cancel() -> bool:
        check(audit.current_stage or "?")
        return hb.should_cancel()

    return should_cancel


def time_budget(ctx: WorkerContext, audit: Audit) -> float:
    """The audit's own ``time_budget_s``, else the service default (``Settings.audit_time_budget``)."""
    return ctx.settings.audit_time_budget(audit.config)


def _load(ctx: WorkerContext, audit_id: str, token: str) -> tuple[Audit, ModelRow, DatasetRow] | str:
    with ctx.sessions() as s:
        audit = s.get(Audit, audit_id)
        if audit is None or audit.run_token != token or audit.status in TERMINAL_STATUSES:
            return "stale"
        if audit.cancel_requested:
            finish(ctx, audit_id, "cancelled")
            return "cancelled"
        return audit, s.get(ModelRow, audit.model_id), s.get(DatasetRow, audit.dataset_id)


def finish(ctx: WorkerContext, audit_id: str, status: str, error: str | None = None,
           **extra: Any) -> None:
    """Move an active audit to a terminal status (no-op if it already finished)."""
    with ctx.sessions() as s:
        s.execute(update(Audit).where(Audit.id == audit_id, Audit.status.in_(ACTIVE_STATUSES))
                  .values(status=status, error=error, finished_at=utcnow(), lease_owner=None,
                          lease_until=None, **extra))
        s.commit()


def _describe(exc: BaseException) -> str:
    if getattr(exc, "input_error", False):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _run_guarded(ctx: WorkerContext, audit_id: str, fn) -> Any:  # noqa: ANN001
    """Run ``fn``; cancellation and permanent errors end the audit, transient ones propagate."""
    from pipeline import AuditCancelled

    try:
        return fn()
    except AuditCancelled:
        finish(ctx, audit_id, "cancelled")
        return "cancelled"
    except TRANSIENT_ERRORS:
        with ctx.sessions() as s:  # free the lease so the retry can take it at once
            s.execute(update(Audit).where(Audit.id == audit_id, Audit.lease_owner == ctx.owner())
                      .values(lease_owner=None, lease_until=None,  # not the stage's fault:
                              attempts=case((Audit.attempts > 0, Audit.attempts - 1), else_=0)))
            s.commit()
        raise
    except PROCESS_EXITS:
        raise
    except BaseException as exc:  # noqa: BLE001 - recorded on the audit; the task itself succeeds
        # BaseException, not Exception: a Rust panic in a tokenizer arrives as
        # pyo3_runtime.PanicException, which derives from BaseException directly.
        log.exception("audit %s failed", audit_id)
        finish(ctx, audit_id, "failed", error=_describe(exc)[:4000])
        return "failed"


def execute_stage(ctx: WorkerContext, audit_id: str, stage: str, token: str) -> str:
    loaded = _load(ctx, audit_id, token)
    if isinstance(loaded, str):
        return loaded
    audit, model, dataset = loaded
    with ctx.sessions() as s:
        if s.scalar(select(StageResult.id).where(StageResult.audit_id == audit_id,
                                                 StageResult.stage == stage)):
            return "skipped"
    if gave_up(ctx, audit, stage):
        return "failed"
    if not claim(ctx, audit_id, token, stage):
        return "busy"
    total = len(audit.stages) + 1  # the report counts as one step
    index = audit.stages.index(stage) if stage in audit.stages else 0

    def work() -> str:
        t0 = time.perf_counter()
        audit.current_stage = stage  # detached copy: names the stage in budget errors
        with Heartbeat(ctx, audit_id, index / total, 1 / total) as hb:
            run = build_run(ctx, audit, model, dataset, hb)
            run.run_stage(stage)
        doc = run.store.pending.get(stage)
        if doc is None:  # another task stored this stage meanwhile; nothing new to record
            return "skipped"
        return _persist_stage(ctx, audit_id, token, stage, doc, time.perf_counter() - t0,
                              (index + 1) / total)

    return _run_guarded(ctx, audit_id, work)


def gave_up(ctx: WorkerContext, audit: Audit, stage: str) -> bool:
    """Fail the audit instead of starting ``stage`` again when earlier attempts killed their worker.

    ``claim`` counts every start of a stage in ``audits.attempts`` and a stored result resets it,
    so a count that reached ``max_stage_attempts`` means that many starts ended with the process
    gone (a native crash, SIGKILL, the OOM killer, a hang stopped by the supervisor). The
    supervisor writes what it saw in ``error``; a Celery pool child that vanished leaves no note.
    """
    limit = ctx.settings.max_stage_attempts
    if (audit.attempts or 0) < limit:
        return False
    seen = audit.error or "the worker process ended without a result (killed, crashed or out of memory)"
    finish(ctx, audit.id, "failed",
           error=(f"Stage {audit.current_stage or stage} was started {audit.attempts} times and each "
                  f"attempt ended its worker; last attempt: {seen}. The audit is not retried again "
                  f"(max_stage_attempts={limit}).")[:4000])
    return True


def _trigger_rows(audit_id: str, result: dict) -> list[Trigger]:
    items = result.get("triggers") if isinstance(result, dict) else None
    rows = []
    for rank, item in enumerate(items or []):
        text = item.get("text") or " ".join(item.get("tokens", [])) if isinstance(item, dict) else str(item)
        rows.append(Trigger(audit_id=audit_id, rank=rank, text=str(text),
                            data=item if isinstance(item, dict) else {"value": item}))
    return rows


def _persist_stage(ctx: WorkerContext, audit_id: str, token: str, stage: str, doc: dict,
                   seconds: float, progress: float) -> str:
    """Stage document, trigger rows, the verdict (triggers stage), progress and lease release: one
    transaction."""
    with ctx.sessions() as s:
        extra = {}
        if stage == "triggers" and isinstance(doc.get("result"), dict):
            extra["verdict"] = doc["result"].get("verdict")
        res = s.execute(update(Audit).where(Audit.id == audit_id, Audit.run_token == token,
                                            Audit.status == "running")
                        .values(progress=round(progress, 4), lease_owner=None, lease_until=None,
                                enqueued_at=utcnow(), attempts=0, error=None, **extra))
        if res.rowcount != 1:
            s.rollback()
            return "stale"
        s.add(StageResult(audit_id=audit_id, stage=stage, result=doc, duration_s=seconds))
        if stage == "triggers":
            s.add_all(_trigger_rows(audit_id, doc.get("result") or {}))
        try:
            s.commit()
        except IntegrityError:  # a duplicate task stored it first
            s.rollback()
            return "skipped"
    return "done"


def execute_report(ctx: WorkerContext, audit_id: str, token: str) -> str:
    loaded = _load(ctx, audit_id, token)
    if isinstance(loaded, str):
        return loaded
    audit, model, dataset = loaded
    if gave_up(ctx, audit, "report"):
        return "failed"
    if not claim(ctx, audit_id, token, "report"):
        return "busy"

    def work() -> str:
        store = ctx.store.for_tenant(audit.tenant_id)
        out = store.scratch_dir()
        try:
            files = build_run(ctx, audit, model, dataset, None).write_report(out)
            stored = {name: store.put_file(Path(p)) for name, p in
                      ((Path(p).name, p) for p in files.values())}
        finally:
            shutil.rmtree(out, ignore_errors=True)
        with ctx.sessions() as s:
            res = s.execute(update(Audit).where(Audit.id == audit_id, Audit.run_token == token,
                                                Audit.status == "running")
                            .values(status="succeeded", report_files=stored, progress=1.0,
                                    current_stage=None, finished_at=utcnow(), lease_owner=None,
                                    lease_until=None, error=None, attempts=0))
            s.commit()
        return "done" if res.rowcount == 1 else "stale"

    return _run_guarded(ctx, audit_id, work)


def remaining_stages(ctx: WorkerContext, audit_id: str) -> list[str]:
    with ctx.sessions() as s:
        audit = s.get(Audit, audit_id)
        done = set(s.scalars(select(StageResult.stage).where(StageResult.audit_id == audit_id)))
        return [st for st in (audit.stages if audit else []) if st not in done]
