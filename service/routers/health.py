"""/v1/health: the database, the broker (when there is one) and the workers.

Workers write a heartbeat row (``workers`` table, ``workers.liveness``); a worker is alive when
its row is newer than ``worker_stale_seconds``. With no live worker the answer is 503: queued
audits would wait forever, and a health check that says ``ok`` then is lying.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select, text

from infra.db.models import Audit, WorkerRow, utcnow
from service.schemas import HealthOut, WorkersHealth

router = APIRouter(prefix="/v1/health", tags=["health"])


def _workers(session, stale_s: float) -> WorkersHealth:  # noqa: ANN001
    cutoff = utcnow() - timedelta(seconds=stale_s)
    alive = session.scalar(select(func.count()).select_from(WorkerRow).where(WorkerRow.last_seen >= cutoff))
    last = session.scalar(select(func.max(WorkerRow.last_seen)))
    by_status = dict(session.execute(select(Audit.status, func.count()).where(
        Audit.status.in_(("queued", "running"))).group_by(Audit.status)).all())
    return WorkersHealth(alive=alive or 0, last_heartbeat=last, queue_depth=by_status.get("queued", 0),
                         running=by_status.get("running", 0))


@router.get("", response_model=HealthOut, responses={503: {"model": HealthOut}})
def health(request: Request) -> JSONResponse:
    state = request.app.state
    workers = None
    try:
        with state.sessions() as s:
            s.execute(text("SELECT 1"))
            workers = _workers(s, state.settings.worker_stale_seconds)
        db_ok = True
    except Exception:  # noqa: BLE001 - health reports, never raises
        db_ok = False
    broker = state.dispatcher.ping()
    problems = []
    if not db_ok:
        problems.append("the database cannot be reached")
    if broker is False:
        problems.append("the broker cannot be reached")
    if workers is not None and workers.alive == 0:
        problems.append(f"no worker has sent a heartbeat in the last {state.settings.worker_stale_seconds:g} s"
                        f" ({workers.queue_depth} audits queued)")
    body = HealthOut(status="degraded" if problems else "ok", database=db_ok, broker=broker,
                     mode="embedded" if state.settings.embedded else "celery", workers=workers,
                     detail=("; ".join(problems).capitalize() + ".") if problems else None)
    return JSONResponse(body.model_dump(mode="json"), status_code=503 if problems else 200)
