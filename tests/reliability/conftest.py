"""Fixtures for the reliability suite: in-process API apps on a migrated database, API keys,
and a per-session PostgreSQL database (created and dropped by the tests)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import reliability_figures
from tests.service.hostile.arch_models import build_arch_model

PG_ADMIN_URL = os.environ.get("ATTAUDIT_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_DB = int(os.environ.get("ATTAUDIT_TEST_REDIS_DB", "9"))  # FLUSHDB only ever touches this one


def pytest_configure(config: pytest.Config) -> None:
    reliability_figures.register(config)


@dataclass
class Api:
    """An in-process app (FastAPI TestClient) plus what the tests need to inspect it."""

    client: object
    settings: object
    sessions: object

    def key(self, tenant: str) -> str:
        from service.auth import create_key

        with self.sessions() as s:
            return create_key(s, tenant)

    def count(self, table) -> int:  # noqa: ANN001
        from sqlalchemy import func, select

        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(table))


def make_settings(data_dir: Path, database_url: str = "", **overrides):  # noqa: ANN201
    from infra.settings import Settings

    return Settings(data_dir=data_dir, database_url=database_url, broker_url="", **overrides)


def make_api(settings) -> Api:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from infra.db.migrate import upgrade
    from infra.db.session import session_factory
    from service.main import create_app

    upgrade(settings.database_url)
    app = create_app(settings)
    return Api(TestClient(app), settings, session_factory(settings.database_url))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Api:
    return make_api(make_settings(tmp_path_factory.mktemp("api")))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_arch_model(tmp_path_factory.mktemp("tiny") / "bert", "bert")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session (other helpers share the server)."""
    import psycopg

    name = f"attaudit_rel_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    from infra.db.session import get_engine

    get_engine.cache_clear()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
