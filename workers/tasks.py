"""Thin Celery tasks: ids in, ``workers.execution`` does the work, the DB holds the outcome.

Retries with exponential backoff happen for transient errors only (database connection
trouble, broker/network errors). A permanent error is recorded on the audit as ``failed``
and the chain stops.
"""

from __future__ import annotations

from celery import Task, shared_task
from celery.exceptions import TimeLimitExceeded
from kombu.exceptions import OperationalError as KombuOperationalError

from workers.context import default_context
from workers.execution import TRANSIENT_ERRORS, execute_report, execute_stage

try:  # redis-py's errors are transient too when Redis is the broker/backend
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    _REDIS: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError)
except ImportError:  # pragma: no cover
    _REDIS = ()

RETRY_ON = (*TRANSIENT_ERRORS, KombuOperationalError, *_REDIS)
_COMMON = dict(bind=True, acks_late=True, reject_on_worker_lost=True, autoretry_for=RETRY_ON,
               retry_backoff=2, retry_backoff_max=120, retry_jitter=True, max_retries=8)


def _stop_chain_unless_ok(task, outcome: str) -> str:  # noqa: ANN001
    """Cancelled, failed or superseded: the rest of this chain must not run."""
    if outcome in ("cancelled", "failed", "stale"):
        task.request.chain = None
        task.request.callbacks = None
    return outcome


class StageTask(Task):
    """A stage task whose hard time limit (``jobs.dispatch.stage_time_limit``) fails the audit.

    Celery calls ``on_failure`` in the worker's main process after it killed the pool process
    that ran past the limit (a stage stuck in native code never reaches a progress tick); the
    audit ends ``failed`` with a sentence instead of waiting for its lease to expire and being
    re-sent into the same hang."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # noqa: ANN001
        if not isinstance(exc, TimeLimitExceeded) or len(args) < 2:
            return
        from workers.execution import finish

        audit_id, stage = args[0], args[1]
        limit = float(exc.args[0]) if exc.args else float("nan")
        finish(default_context(), audit_id, "failed",
               f"stage {stage} ran past the audit's time budget plus its grace ({limit:g} s in all) "
               "without reaching a progress check; its process was stopped. Raise time_budget_s, "
               "select fewer stages or use fewer examples")


@shared_task(name="attaudit.stage", base=StageTask, **_COMMON)
def run_stage(self, audit_id: str, stage: str, token: str) -> str:  # noqa: ANN001
    ctx = default_context()
    outcome = execute_stage(ctx, audit_id, stage, token)
    if outcome == "busy":  # another live worker holds the lease (e.g. a redelivered message)
        raise self.retry(countdown=ctx.settings.lease_seconds, max_retries=20)
    return _stop_chain_unless_ok(self, outcome)


@shared_task(name="attaudit.report", **_COMMON)
def build_report(self, audit_id: str, token: str) -> str:  # noqa: ANN001
    ctx = default_context()
    outcome = execute_report(ctx, audit_id, token)
    if outcome == "busy":
        raise self.retry(countdown=ctx.settings.lease_seconds, max_retries=20)
    return outcome
