"""The infra tests use the service tests' database fixtures (SQLite and a fresh PostgreSQL)."""

from tests.service.conftest import db_url, pg_url, sqlite_url  # noqa: F401 - re-exported fixtures
