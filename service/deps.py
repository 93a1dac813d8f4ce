"""Request dependencies: settings, DB session, the calling tenant (API key + rate limit)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from anyio import to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from infra.settings import Settings
from infra.storage import ArtifactStore
from service.auth import Caller, KeyCache
from service.errors import APIError
from service.offload import Offloader


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]


def bearer_key(header: str) -> str:
    """The key of an ``Authorization: Bearer <key>`` header; 401 ``missing_api_key`` otherwise."""
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise APIError(401, "missing_api_key",
                       "Send an API key as 'Authorization: Bearer <key>'.",
                       headers={"WWW-Authenticate": "Bearer"})
    return key.strip()


async def authenticate(keys: KeyCache, header: str) -> tuple[str, Caller]:
    """(key, caller) or 401; a cache hit stays on the event loop, a miss reads in a thread."""
    key = bearer_key(header)
    found, caller = keys.cached(key)
    if not found:
        caller = await to_thread.run_sync(keys.lookup, key)
    if caller is None:
        raise APIError(401, "invalid_api_key", "The API key is unknown or revoked.",
                       headers={"WWW-Authenticate": "Bearer"})
    return key, caller


async def current_tenant(request: Request) -> Caller:
    """The calling tenant (no pooled connection held: the key cache answers, see ``KeyCache``)."""
    key, caller = await authenticate(request.app.state.keys, request.headers.get("authorization", ""))
    wait = request.app.state.rate_limiter.hit(key)
    if wait is not None:
        raise APIError(429, "rate_limited",
                       f"Too many requests for this key; retry in {wait:.1f} seconds.",
                       headers={"Retry-After": str(max(1, round(wait)))})
    return caller


async def get_offload(request: Request) -> Offloader:
    return request.app.state.offload


CurrentTenant = Annotated[Caller, Depends(current_tenant)]
OffloadDep = Annotated[Offloader, Depends(get_offload)]


async def get_store(request: Request, tenant: CurrentTenant) -> ArtifactStore:
    """The calling tenant's storage namespace: nothing (not even upload timing) is shared."""
    return request.app.state.store.for_tenant(tenant.id)


StoreDep = Annotated[ArtifactStore, Depends(get_store)]
