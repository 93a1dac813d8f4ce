"""Send an audit as a Celery chain: one task per remaining stage (gpu queue), then the report (cpu).

A chain means a crash loses at most the stage that was running. Signatures are built by
task name, so the API process never imports the task module (nor torch).
"""

from __future__ import annotations

import json
import re

from celery import Celery, chain

from infra.settings import Settings


def stage_time_limit(settings: Settings, config: dict | None) -> float:
    """The hard ceiling of one stage task: the audit's whole time budget
    (``Settings.audit_time_budget``) plus the grace. The pipeline's progress ticks enforce the budget itself; this
    catches a stage that never ticks (stuck in native code): Celery kills the pool process and
    ``workers.tasks`` fails the audit with a sentence (the supervisor does this for the
    embedded worker)."""
    return settings.audit_time_budget(config) + settings.budget_grace_seconds


def send_audit_chain(app: Celery, settings: Settings, audit_id: str, stages: list[str],
                     token: str, config: dict | None = None) -> None:
    limit = stage_time_limit(settings, config)
    steps = [app.signature("attaudit.stage", args=(audit_id, stage, token), immutable=True,
                           queue=settings.gpu_queue, time_limit=limit) for stage in stages]
    steps.append(app.signature("attaudit.report", args=(audit_id, token), immutable=True,
                               queue=settings.cpu_queue))
    declare_queues(app, settings)
    chain(*steps).apply_async()


def declare_queues(app: Celery, settings: Settings) -> None:
    """(Re)declare both queues and their bindings before publishing. Idempotent and cheap; on
    Redis a message published while a binding is missing (broker flushed, or no worker has
    declared the queue yet) is dropped without an error. Found by tests/reliability/test_load.py."""
    with app.connection_for_write() as conn:
        for name in (settings.gpu_queue, settings.cpu_queue):
            app.amqp.queues[name](conn.default_channel).declare()


_HEX32 = re.compile(r"[0-9a-f]{32}")


def waiting_messages(app: Celery, settings: Settings) -> set[tuple[str, str]] | None:
    """(audit id, run token) of every task message waiting in the Redis queues; None when the
    broker is not Redis or cannot be read (the reconciler then falls back to its grace period).

    Reads the ``argsrepr`` header Celery writes on each message; messages already reserved by a
    worker are not counted, so a reservation lost with its worker is still re-sent.
    """
    if not settings.broker_url.startswith(("redis://", "rediss://")):
        return None
    found: set[tuple[str, str]] = set()
    try:
        with app.connection_for_read() as conn:
            client = conn.default_channel.client
            for queue in (settings.gpu_queue, settings.cpu_queue):
                for raw in client.lrange(queue, 0, -1):
                    ids = _HEX32.findall(json.loads(raw).get("headers", {}).get("argsrepr", ""))
                    found.update((a, t) for a in ids[:1] for t in ids[1:])
    except Exception:  # noqa: BLE001 - inspection is an optimisation; never block reconciling
        return None
    return found
