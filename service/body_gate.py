"""Pure ASGI middleware: authenticate before any request body is read, and cap every body.

FastAPI reads a request's body (form or JSON) before it resolves the endpoint's dependencies,
so a dependency cannot keep an unauthenticated client from streaming 300 MiB into the process.
This middleware runs first: a request that carries a body (a ``Content-Length`` above zero or
``Transfer-Encoding``) must present a valid API key, checked against the key cache, before the
app receives a byte; its declared size is checked against the route's cap; and the streamed
bytes are counted as they arrive, so a chunked body (no declared size) is cut off at the cap
too. Uploads (``POST /v1/models``, ``POST /v1/datasets``) may carry ``max_upload_mb`` plus
multipart overhead; every other body ``max_json_body_kb``.

Refusals are the API's JSON errors: 401 ``missing_api_key`` / ``invalid_api_key``, 413
``body_too_large``. The connection is closed after a refusal (the unread body is discarded).
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.auth import KeyCache
from service.deps import authenticate
from service.errors import APIError

UPLOAD_ROUTES = {("POST", "/v1/models"), ("POST", "/v1/datasets")}
MULTIPART_OVERHEAD = 256 * 1024


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once the streamed body passes the cap (FastAPI re-raises
    ``HTTPException`` from body parsing, so it reaches the JSON error handler as a 413)."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, f"The request body is larger than the limit of {cap} bytes.")


class BodyGate:
    def __init__(self, app: ASGIApp, *, keys: KeyCache, upload_cap: int, body_cap: int) -> None:
        self.app, self.keys = app, keys
        self.upload_cap, self.body_cap = upload_cap + MULTIPART_OVERHEAD, body_cap

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        declared = headers.get("content-length", "").strip()
        chunked = "transfer-encoding" in headers
        if not chunked and (not declared or declared == "0"):
            await self.app(scope, receive, send)  # no body: the endpoint authenticates as usual
            return
        route = (scope["method"], scope["path"].rstrip("/") or "/")
        cap = self.upload_cap if route in UPLOAD_ROUTES else self.body_cap
        try:
            await authenticate(self.keys, headers.get("authorization", ""))
            if declared and (not declared.isdigit() or int(declared) > cap):
                raise APIError(413, "body_too_large",
                               f"The request declares a body of {declared} bytes; the limit for "
                               f"{route[0]} {route[1]} is {cap} bytes.")
        except APIError as exc:
            await _refuse(send, exc)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge(cap)
            return message

        await self.app(scope, counted, send)


async def _refuse(send: Send, exc: APIError) -> None:
    body = json.dumps({"error": {"code": exc.code, "message": exc.message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]
    headers += [(k.lower().encode(), v.encode()) for k, v in (exc.headers or {}).items()]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
