"""The database as the pipeline's result store: stage documents live in ``stage_results``.

A stage task runs ``AuditRun.run_stage`` with this store; the freshly computed document is held
in ``pending`` and written by ``workers.execution`` in the same transaction as the progress and
lease release (so a stale task never records a result). The report task reads every stage
back from the database: the report shows exactly what the database records.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from infra.db.models import StageResult


class DatabaseResultStore:
    def __init__(self, sessions: sessionmaker[Session], audit_id: str) -> None:
        self.sessions, self.audit_id = sessions, audit_id
        self.pending: dict[str, dict] = {}

    def get(self, stage: str, cache_key: str) -> dict | None:
        if stage in self.pending:
            return self.pending[stage]
        with self.sessions() as s:
            doc = s.scalar(select(StageResult.result).where(StageResult.audit_id == self.audit_id,
                                                            StageResult.stage == stage))
        return doc if isinstance(doc, dict) and doc.get("cache_key") == cache_key else None

    def put(self, stage: str, cache_key: str, doc: dict) -> None:
        self.pending[stage] = doc
