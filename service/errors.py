"""API errors: every 4xx answers ``{"error": {"code": ..., "message": ...}}``.

``code`` is machine readable and stable; ``message`` is one human sentence.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class APIError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def not_found(kind: str, obj_id: str) -> APIError:
    return APIError(404, f"{kind}_not_found", f"No {kind} with id {obj_id!r} exists for this tenant.")


def get_owned(session, row_type, obj_id: str, tenant, kind: str):  # noqa: ANN001
    """The ``row_type`` row ``obj_id`` if it belongs to ``tenant`` (a tenant or its id); otherwise 404.

    The one tenancy check every router uses: another tenant's id and a missing id give the same
    answer, so ids leak nothing across tenants.
    """
    tenant_id = tenant if isinstance(tenant, str) else tenant.id
    row = session.get(row_type, obj_id)
    if row is None or row.tenant_id != tenant_id:
        raise not_found(kind, obj_id)
    return row


def sentence(text: str) -> str:
    """Capitalised, ending with a full stop: validators write lower-case fragments."""
    text = text.strip()
    if not text:
        return "The request was refused."
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
               413: "body_too_large"}
log = logging.getLogger("attaudit.api")


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> JSONResponse:
        return JSONResponse(_body(exc.code, exc.message), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path"))
            parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
        body = _body("invalid_request", "The request is invalid: " + "; ".join(parts) + ".")
        body["error"]["details"] = [{"loc": list(e.get("loc", ())), "msg": e.get("msg")}
                                    for e in exc.errors()[:20]]
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if not detail.endswith("."):
            detail += "."
        return JSONResponse(_body(code, detail), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception) -> JSONResponse:
        """Any unexpected error: a JSON 500 with an id to find it in the log, never a path or trace."""
        incident = uuid.uuid4().hex[:12]
        log.error("unhandled error %s", incident, exc_info=exc)
        return JSONResponse(_body("internal_error", f"The server failed to handle this request; "
                                  f"the error is logged as incident {incident}."), status_code=500)
