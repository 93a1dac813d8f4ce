"""Per-process worker context: settings, DB sessions, artifact store, this worker's lease name."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker

from infra.db.session import session_factory
from infra.settings import Settings, get_settings
from infra.storage import ArtifactStore


@dataclass
class WorkerContext:
    settings: Settings
    sessions: sessionmaker[Session]
    store: ArtifactStore
    # The name leases are held under. A supervised executor process works under its
    # supervisor's name, so the supervisor can release the lease when the executor dies.
    owner_name: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerContext:
        return cls(settings, session_factory(settings.database_url),
                   ArtifactStore(settings.storage_path))

    def owner(self) -> str:
        """Lease owner name: host and pid (a forked child gets its own), unless set."""
        return self.owner_name or process_owner()


def process_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@lru_cache(maxsize=1)
def default_context() -> WorkerContext:
    return WorkerContext.from_settings(get_settings())


# A forked pool child builds its own context (and engine) on first use.
os.register_at_fork(after_in_child=default_context.cache_clear)
