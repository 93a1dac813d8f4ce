"""/v1/health: is the database reachable, and the broker (when there is one)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from service.schemas import HealthOut

router = APIRouter(prefix="/v1/health", tags=["health"])


@router.get("", response_model=HealthOut, responses={503: {"model": HealthOut}})
def health(request: Request) -> JSONResponse:
    state = request.app.state
    try:
        with state.sessions() as s:
            s.execute(text("SELECT 1"))
        db_ok = True
    except Exception:  # noqa: BLE001 - health reports, never raises
        db_ok = False
    broker = state.dispatcher.ping()
    ok = db_ok and broker is not False
    body = HealthOut(status="ok" if ok else "degraded", database=db_ok, broker=broker,
                     mode="embedded" if state.settings.embedded else "celery")
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)
