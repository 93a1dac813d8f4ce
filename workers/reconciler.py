"""The database is the source of truth: re-enqueue audits that lost their task.

An audit is orphaned when it is ``queued`` (or ``running`` between stages) with no live
lease for longer than ``queued_grace_seconds`` (a lost message, a broker restart), or
``running`` with a lapsed lease (its worker died). The reconciler swaps in a fresh
``run_token`` with a conditional UPDATE, so of several reconcilers exactly one wins, and
any old chain still in the broker becomes a no-op.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import and_, or_, select, update

from infra.db.models import ACTIVE_STATUSES, Audit, new_id, utcnow
from workers.context import WorkerContext
from workers.execution import finish, remaining_stages

log = logging.getLogger(__name__)
Enqueue = Callable[[str, list[str], str, "dict | None"], None]  # id, stages, token, audit config
# (audit id, run token) pairs with a message still waiting in the broker, or None when the
# broker cannot be inspected (then waiting longer than the grace period counts as lost).
Waiting = Callable[[], "set[tuple[str, str]] | None"]


def find_orphans(ctx: WorkerContext, *, grace_s: float | None = None) -> list[tuple[str, str]]:
    """(audit id, run token) of active audits with no live task."""
    now = utcnow()
    grace = ctx.settings.queued_grace_seconds if grace_s is None else grace_s
    waited_too_long = and_(Audit.lease_until.is_(None), Audit.enqueued_at < now - timedelta(seconds=grace))
    with ctx.sessions() as s:
        rows = s.execute(select(Audit.id, Audit.run_token).where(
            Audit.status.in_(ACTIVE_STATUSES),
            or_(waited_too_long, Audit.lease_until < now)).order_by(Audit.created_at).limit(100))
        return [(r[0], r[1]) for r in rows]


def take_over(ctx: WorkerContext, audit_id: str, old_token: str, *, owner: str | None = None) -> str | None:
    """Swap the run token (and optionally take the lease); None if someone else won."""
    new = new_id()
    values: dict = {"run_token": new, "enqueued_at": utcnow(), "lease_owner": owner,
                    "lease_until": (utcnow() + timedelta(seconds=ctx.settings.lease_seconds)) if owner else None}
    with ctx.sessions() as s:
        now = utcnow()  # never take over from a worker that claimed the lease meanwhile
        res = s.execute(update(Audit).where(Audit.id == audit_id, Audit.run_token == old_token,
                                            Audit.status.in_(ACTIVE_STATUSES),
                                            or_(Audit.lease_until.is_(None), Audit.lease_until < now))
                        .values(**values))
        s.commit()
    return new if res.rowcount == 1 else None


def reconcile(ctx: WorkerContext, enqueue: Enqueue, *, grace_s: float | None = None,
              waiting: Waiting | None = None) -> list[str]:
    """Re-enqueue every orphan; returns their ids.

    An audit that merely waits behind a long queue is not an orphan: when ``waiting`` can list
    the broker's messages, an audit with no lease whose current token is still queued is left
    alone (without this, a backlog longer than the grace period is re-sent on every pass).
    """
    done = []
    held = waiting() if waiting is not None else None
    for audit_id, token in find_orphans(ctx, grace_s=grace_s):
        with ctx.sessions() as s:
            row = s.execute(select(Audit.cancel_requested, Audit.lease_until, Audit.config)
                            .where(Audit.id == audit_id)).one()
        cancel = row[0]
        if held is not None and row[1] is None and (audit_id, token) in held:
            continue
        if cancel:
            finish(ctx, audit_id, "cancelled")
            continue
        new = take_over(ctx, audit_id, token)
        if new is None:
            continue
        stages = remaining_stages(ctx, audit_id)
        log.info("reconciler: re-enqueue audit %s (%d stages left)", audit_id, len(stages))
        enqueue(audit_id, stages, new, row[2])
        done.append(audit_id)
    return done


def start_reconciler_thread(ctx: WorkerContext, enqueue: Enqueue, stop: threading.Event,
                            waiting: Waiting | None = None) -> threading.Thread:
    def loop() -> None:
        from workers import retention

        while not stop.wait(ctx.settings.reconcile_interval_seconds):
            try:
                reconcile(ctx, enqueue, waiting=waiting)
                retention.sweep(ctx)  # finished audits' work directories past their retention
            except Exception as exc:  # noqa: BLE001 - try again next interval
                log.warning("reconciler pass failed: %s", exc)

    t = threading.Thread(target=loop, name="attaudit-reconciler", daemon=True)
    t.start()
    return t
