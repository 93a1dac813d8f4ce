"""Leases: which worker runs an audit right now, renewed by a heartbeat thread.

The heartbeat also writes the latest progress and polls ``cancel_requested``, so the
pipeline's ``progress``/``should_cancel`` hooks cost nothing but a lock.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import case, or_, select, update

from infra.db.models import ACTIVE_STATUSES, Audit, utcnow
from workers.context import WorkerContext

log = logging.getLogger(__name__)


def claim(ctx: WorkerContext, audit_id: str, token: str, stage: str | None) -> bool:
    """Take the lease if it is free, expired or already ours; marks the audit running.

    Each successful claim counts one start of the stage in ``attempts`` (a stored stage result
    resets it): a stage whose process dies keeps its count, which ``execution.gave_up`` reads.
    """
    now = utcnow()
    values = {"lease_owner": ctx.owner(),
              "lease_until": now + timedelta(seconds=ctx.settings.lease_seconds),
              "status": "running",
              # a start of the stage it was already on adds one; a new stage starts at one
              "attempts": case((Audit.current_stage == stage, Audit.attempts + 1), else_=1)
              if stage is not None else Audit.attempts + 1}
    if stage is not None:
        values["current_stage"] = stage
    with ctx.sessions() as s:
        res = s.execute(update(Audit).where(
            Audit.id == audit_id, Audit.run_token == token, Audit.status.in_(ACTIVE_STATUSES),
            Audit.cancel_requested.is_(False),
            or_(Audit.lease_owner.is_(None), Audit.lease_owner == ctx.owner(),
                Audit.lease_until < now)).values(**values))
        s.execute(update(Audit).where(Audit.id == audit_id, Audit.started_at.is_(None))
                  .values(started_at=now))
        s.commit()
        return res.rowcount == 1


class Heartbeat:
    """Background thread: renew the lease, store progress, read the cancel flag."""

    def __init__(self, ctx: WorkerContext, audit_id: str, base: float, span: float) -> None:
        self.ctx, self.audit_id = ctx, audit_id
        self.base, self.span = base, span  # overall progress = base + span * stage fraction
        self.cancelled = threading.Event()
        self._fraction = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{audit_id}", daemon=True)

    def progress(self, _stage: str, fraction: float) -> None:
        with self._lock:
            self._fraction = min(1.0, max(self._fraction, float(fraction)))

    def should_cancel(self) -> bool:
        return self.cancelled.is_set()

    def beat(self) -> None:
        with self._lock:
            overall = self.base + self.span * self._fraction
        now = utcnow()
        with self.ctx.sessions() as s:
            s.execute(update(Audit).where(Audit.id == self.audit_id,
                                          Audit.lease_owner == self.ctx.owner())
                      .values(progress=round(overall, 4),
                              lease_until=now + timedelta(seconds=self.ctx.settings.lease_seconds)))
            flag = s.scalar(select(Audit.cancel_requested).where(Audit.id == self.audit_id))
            s.commit()
        if flag:
            self.cancelled.set()

    def _loop(self) -> None:
        interval = min(self.ctx.settings.progress_interval_seconds, self.ctx.settings.lease_seconds / 3)
        while not self._stop.wait(interval):
            try:
                self.beat()
            except Exception as exc:  # noqa: BLE001 - a missed beat is retried next interval
                log.warning("heartbeat for %s failed: %s", self.audit_id, exc)

    def __enter__(self) -> Heartbeat:
        self.beat()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
