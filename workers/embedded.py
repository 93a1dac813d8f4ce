"""The embedded default: a worker that polls the database instead of a broker.

``attaudit serve`` with no ``ATTAUDIT_BROKER_URL`` starts ``attaudit worker`` in a child
process (same settings), so the API process never imports torch and no Redis is needed. That
process is a ``workers.supervisor.Supervisor``: it claims with ``claim_next`` below and runs
``run_audit`` in an executor child it can replace. ``claim_next`` takes a ``queued`` audit (or
an orphaned ``running`` one) with the same conditional token swap as the reconciler, fewest
attempts first (an audit whose attempts killed their worker waits behind fresh ones), then
oldest. Several embedded workers may share a database: leases keep them off each other's audits.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import or_, select, update

from infra.db.models import Audit, utcnow
from workers.context import WorkerContext
from workers.execution import execute_report, execute_stage, remaining_stages
from workers.reconciler import take_over

log = logging.getLogger(__name__)


class EmbeddedWorker:
    def __init__(self, ctx: WorkerContext, stop: threading.Event | None = None) -> None:
        self.ctx = ctx
        self.stop = stop or threading.Event()

    def claim_next(self, owner: str | None = None) -> tuple[str, str] | None:
        now = utcnow()
        with self.ctx.sessions() as s:
            rows = s.execute(select(Audit.id, Audit.run_token).where(
                Audit.status.in_(("queued", "running")),
                or_(Audit.lease_until.is_(None), Audit.lease_until < now),
            ).order_by(Audit.attempts, Audit.created_at, Audit.id).limit(10)).all()
        for audit_id, token in rows:
            new = take_over(self.ctx, audit_id, token, owner=owner or self.ctx.owner())
            if new is not None:
                return audit_id, new
        return None

    def release(self, audit_id: str) -> None:
        """Give the audit back at a stage boundary (shutdown): the next worker takes it at once."""
        with self.ctx.sessions() as s:
            s.execute(update(Audit).where(Audit.id == audit_id, Audit.lease_owner == self.ctx.owner())
                      .values(lease_owner=None, lease_until=None, enqueued_at=utcnow()))
            s.commit()

    def run_audit(self, audit_id: str, token: str) -> str:
        for stage in remaining_stages(self.ctx, audit_id):
            if self.stop.is_set():
                self.release(audit_id)
                return "interrupted"
            outcome = execute_stage(self.ctx, audit_id, stage, token)
            if outcome in ("cancelled", "failed", "stale", "busy"):
                return outcome
        return execute_report(self.ctx, audit_id, token)

    def run_once(self) -> str | None:
        claimed = self.claim_next()
        if claimed is None:
            return None
        log.info("embedded worker: audit %s", claimed[0])
        return self.run_audit(*claimed)

    def run_forever(self) -> None:
        while not self.stop.is_set():
            try:
                if self.run_once() is None:
                    self.stop.wait(self.ctx.settings.poll_interval_seconds)
            except Exception as exc:  # noqa: BLE001 - transient DB trouble: wait and poll again
                log.warning("embedded worker: %s", exc)
                self.stop.wait(self.ctx.settings.poll_interval_seconds * 5)
