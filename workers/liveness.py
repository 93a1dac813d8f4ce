"""Worker heartbeats: one ``workers`` row per live worker, refreshed every few seconds.

``GET /v1/health`` counts the rows seen within ``worker_stale_seconds`` as alive workers and
answers 503 when there are none, so a dead worker shows up in health instead of behind a queue
that never moves. A worker deletes its row when it stops cleanly; a killed one simply goes stale
and is pruned by the next beat of any worker after an hour.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from sqlalchemy import delete, update

from infra.db.models import WorkerRow, utcnow
from workers.context import WorkerContext

log = logging.getLogger(__name__)
PRUNE_AFTER = timedelta(hours=1)


def beat(ctx: WorkerContext, kind: str, *, current_audit: str | None = None,
         name: str | None = None) -> None:
    """Insert or refresh this worker's row (``name`` defaults to the lease owner name)."""
    name = name or ctx.owner()
    now = utcnow()
    with ctx.sessions() as s:
        res = s.execute(update(WorkerRow).where(WorkerRow.id == name)
                        .values(last_seen=now, current_audit_id=current_audit))
        if res.rowcount == 0:
            s.add(WorkerRow(id=name, kind=kind, host=socket.gethostname(), pid=os.getpid(),
                            started_at=now, last_seen=now, current_audit_id=current_audit))
        s.execute(delete(WorkerRow).where(WorkerRow.last_seen < now - PRUNE_AFTER))
        s.commit()


def forget(ctx: WorkerContext, name: str | None = None) -> None:
    """Remove this worker's row (clean shutdown)."""
    try:
        with ctx.sessions() as s:
            s.execute(delete(WorkerRow).where(WorkerRow.id == (name or ctx.owner())))
            s.commit()
    except Exception as exc:  # noqa: BLE001 - a stale row expires by itself
        log.warning("could not remove the worker row: %s", exc)


def start_beating(ctx: WorkerContext, kind: str, stop: threading.Event) -> threading.Thread:
    """A thread that beats every ``worker_heartbeat_seconds`` until ``stop`` (Celery mode).

    The caller beats once itself before starting it (the first beat imports the database
    driver; a thread importing modules while Celery forks its pool can leave a child holding
    the import lock).
    """

    def loop() -> None:
        while not stop.wait(ctx.settings.worker_heartbeat_seconds):
            try:
                beat(ctx, kind)
            except Exception as exc:  # noqa: BLE001 - retried next interval
                log.warning("worker heartbeat failed: %s", exc)
        forget(ctx)

    t = threading.Thread(target=loop, name="attaudit-worker-heartbeat", daemon=True)
    t.start()
    return t
