"""Retention of work directories: a finished audit's pipeline cache and dataset link are deleted
``work_retention_hours`` after it finished (the report files stay until the audit is purged).
A work directory whose audit row is gone (purged) is deleted at once. Run by the embedded
worker and the Celery reconciler thread every ``reconcile_interval_seconds``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from infra.db.models import TERMINAL_STATUSES, Audit, utcnow
from workers.context import WorkerContext

log = logging.getLogger(__name__)


def sweep(ctx: WorkerContext) -> list[str]:
    """Delete expired work directories in every tenant namespace; returns the audit ids."""
    cutoff = utcnow() - timedelta(hours=ctx.settings.work_retention_hours)
    removed = []
    for store in ctx.store.tenant_stores():
        ids = store.work_dir_ids()
        if not ids:
            continue
        with ctx.sessions() as s:
            rows = dict(s.execute(select(Audit.id, Audit.status).where(Audit.id.in_(ids))).all())
            expired = set(s.scalars(select(Audit.id).where(
                Audit.id.in_(ids), Audit.status.in_(TERMINAL_STATUSES), Audit.finished_at < cutoff)))
        for audit_id in ids:
            if (audit_id not in rows or audit_id in expired) and store.delete_work_dir(audit_id):
                removed.append(audit_id)
    if removed:
        log.info("retention: removed %d work directories", len(removed))
    return removed
