"""API keys: random secrets shown once, stored as sha256 hashes, each tied to a tenant.

Keys carry 256 bits of randomness, so a fast hash is enough (no password stretching needed):
a leaked table cannot be brute-forced back to keys.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

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


@dataclass(frozen=True)
class Caller:
    """The authenticated tenant of a request (what handlers need: its id)."""

    id: str
    name: str


class KeyCache:
    """API key -> tenant, cached for ``ttl`` seconds (hits and misses), keyed by the key's hash.

    Every authenticated request used to take a pooled connection and a threadpool hop for this
    lookup (bench/service.py measured it); with the cache a hit costs a dict lookup. A revoked
    key stops working within ``ttl`` seconds; ``ttl <= 0`` disables the cache.
    """

    def __init__(self, sessions: sessionmaker[Session], ttl: float, max_entries: int = 10_000) -> None:
        self.sessions, self.ttl, self.max_entries = sessions, ttl, max_entries
        self._entries: dict[str, tuple[float, Caller | None]] = {}
        self._lock = threading.Lock()

    def cached(self, key: str) -> tuple[bool, Caller | None]:
        """(found, caller) without touching the database."""
        if self.ttl <= 0:
            return False, None
        entry = self._entries.get(hash_key(key))
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def lookup(self, key: str) -> Caller | None:
        """The caller for ``key`` (database on a miss; blocking: call it from a thread)."""
        found, caller = self.cached(key)
        if found:
            return caller
        with self.sessions() as session:
            tenant = tenant_for_key(session, key)
            caller = Caller(tenant.id, tenant.name) if tenant is not None else None
        if self.ttl > 0:
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                self._entries[hash_key(key)] = (time.monotonic() + self.ttl, caller)
        return caller
