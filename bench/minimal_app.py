"""The baseline for bench/service.py: the smallest FastAPI app that reads the same audit row with
the same database driver and returns the same JSON, served by uvicorn the same way (one process).

No authentication, no dependencies, one sync endpoint (one threadpool hop), one session per
request from the same SQLAlchemy engine settings as attaudit's. Run as
``python -m uvicorn bench.minimal_app:app`` with ``ATTAUDIT_DATABASE_URL`` set.
"""

from __future__ import annotations

import os

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse

from infra.db.models import Audit
from infra.db.session import session_factory
from service.schemas import AuditOut

app = FastAPI()
sessions = session_factory(os.environ["ATTAUDIT_DATABASE_URL"])


@app.get("/v1/audits/{audit_id}")
def read_audit(audit_id: str) -> JSONResponse:
    with sessions() as s:
        row = s.get(Audit, audit_id)
        if row is None:
            raise HTTPException(404)
        return JSONResponse(AuditOut.model_validate(row).model_dump(mode="json"))
