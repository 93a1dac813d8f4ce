"""Request dependencies: settings, DB session, the calling tenant (API key + rate limit)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from infra.db.models import Tenant
from infra.settings import Settings
from infra.storage import ArtifactStore
from service.auth import tenant_for_key
from service.errors import APIError


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def get_store(request: Request) -> ArtifactStore:
    return request.app.state.store


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
StoreDep = Annotated[ArtifactStore, Depends(get_store)]


def current_tenant(request: Request, session: SessionDep) -> Tenant:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise APIError(401, "missing_api_key",
                       "Send an API key as 'Authorization: Bearer <key>'.",
                       headers={"WWW-Authenticate": "Bearer"})
    key = key.strip()
    tenant = tenant_for_key(session, key)
    # Release the pooled connection now: the handler runs in another threadpool slot, and a
    # request holding a connection while it waits for a slot deadlocks the pool under load
    # (found by tests/reliability/test_load.py: 200 concurrent POSTs -> QueuePool timeouts).
    session.commit()
    if tenant is None:
        raise APIError(401, "invalid_api_key", "The API key is unknown or revoked.",
                       headers={"WWW-Authenticate": "Bearer"})
    wait = request.app.state.rate_limiter.hit(key)
    if wait is not None:
        raise APIError(429, "rate_limited",
                       f"Too many requests for this key; retry in {wait:.1f} seconds.",
                       headers={"Retry-After": str(max(1, round(wait)))})
    return tenant


CurrentTenant = Annotated[Tenant, Depends(current_tenant)]
