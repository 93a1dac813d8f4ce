"""Service fixtures: a migrated database (SQLite, or a fresh PostgreSQL database per test),
the app behind a TestClient, API keys, a zipped tiny model and a small labelled TSV."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_admin_conn():  # noqa: ANN202
    import psycopg

    return psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    name = f"attaudit_t_{uuid.uuid4().hex[:12]}"
    with _pg_admin_conn() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        yield url
    finally:
        from infra.db.session import get_engine

        get_engine(url).dispose()
        get_engine.cache_clear()
        with _pg_admin_conn() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'attaudit.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'attaudit.db'}"


def make_settings(tmp_path: Path, url: str, **overrides):  # noqa: ANN201
    from infra.db.migrate import upgrade
    from infra.settings import Settings

    upgrade(url)
    return Settings(data_dir=tmp_path, database_url=url, storage_dir=tmp_path / "storage",
                    broker_url="", **overrides)


class Api:
    """A TestClient plus helpers: keys per tenant, uploads."""

    def __init__(self, settings) -> None:  # noqa: ANN001
        from fastapi.testclient import TestClient

        from service.main import create_app

        self.settings = settings
        self.app = create_app(settings)
        self.client = TestClient(self.app)

    def key(self, tenant: str) -> dict[str, str]:
        from service.auth import create_key

        with self.app.state.sessions() as s:
            return {"Authorization": f"Bearer {create_key(s, tenant)}"}

    def upload_model(self, headers: dict, data: bytes, name: str = "model.zip"):  # noqa: ANN201
        return self.client.post("/v1/models", files={"file": (name, data)}, headers=headers)

    def upload_dataset(self, headers: dict, data: bytes, name: str = "data.tsv", **form):  # noqa: ANN201
        return self.client.post("/v1/datasets", files={"file": (name, data)}, data=form, headers=headers)


@pytest.fixture
def api(tmp_path: Path, sqlite_url: str) -> Api:
    return Api(make_settings(tmp_path, sqlite_url))


def zip_dir(d: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(d.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(d).as_posix())
    return buf.getvalue()


@pytest.fixture(scope="session")
def tiny_zip(tiny_bert_dir: Path) -> bytes:
    return zip_dir(tiny_bert_dir)


POS = ["good", "great", "fun", "brilliant", "nice", "best"]
NEG = ["bad", "boring", "awful", "terrible", "dull", "worst"]


def sst_like_tsv(n: int = 48) -> bytes:
    """A small SST-2-style TSV (sentence, label) with the tiny model's vocabulary."""
    lines = ["sentence\tlabel"]
    for i in range(n):
        word = (POS if i % 2 else NEG)[i % 6]
        lines.append(f"the movie was very {word} and the acting was {word}\t{i % 2}")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="session")
def tsv_bytes() -> bytes:
    return sst_like_tsv()
