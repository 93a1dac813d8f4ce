"""API keys: random secrets shown once, stored as sha256 hashes, each tied to a tenant.

Keys carry 256 bits of randomness, so a fast hash is enough (no password stretching needed):
a leaked table cannot be brute-forced back to keys.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from infra.db.models import ApiKey, Tenant

KEY_PREFIX = "aa_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, tenant_name: str) -> str:
    """Create the tenant if needed and a new key for it; returns the secret (shown once)."""
    name = tenant_name.strip()
    if not name:
        raise ValueError("tenant name must not be empty")
    tenant = session.scalar(select(Tenant).where(Tenant.name == name))
    if tenant is None:
        tenant = Tenant(name=name)
        session.add(tenant)
        session.flush()
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(tenant_id=tenant.id, key_hash=hash_key(key), prefix=key[:10]))
    session.commit()
    return key


def tenant_for_key(session: Session, key: str) -> Tenant | None:
    row = session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
    )
    return row.tenant if row is not None else None
