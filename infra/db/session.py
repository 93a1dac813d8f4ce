"""Engine and session factory; SQLite gets WAL and a busy timeout so API and worker can share it."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


@lru_cache(maxsize=16)
def get_engine(url: str) -> Engine:
    """One engine per URL and process (engines pool connections; build them once)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        _CREATED.append(engine)
        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    _CREATED.append(engine)
    return engine


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


def _reset_after_fork() -> None:
    """A forked child (Celery prefork) must not reuse the parent's pooled connections."""
    for engine in list(_engines()):
        engine.dispose(close=False)
    get_engine.cache_clear()


def _engines() -> list[Engine]:
    # lru_cache keeps no public view of its values; track them as they are created instead
    return list(_CREATED)


_CREATED: list[Engine] = []
os.register_at_fork(after_in_child=_reset_after_fork)
