"""How the API hands an audit to workers, after the row is committed.

Celery mode sends a chain of stage tasks (``jobs.dispatch``: celery only, no torch);
the embedded default does nothing here because its worker polls the database for
``queued`` audits.
"""

from __future__ import annotations

from typing import Protocol

from infra.settings import Settings


class Dispatcher(Protocol):
    def enqueue(self, audit_id: str, stages: list[str], token: str,
                config: dict | None = None) -> None: ...
    def ping(self) -> bool | None: ...


class EmbeddedDispatcher:
    def enqueue(self, audit_id: str, stages: list[str], token: str,
                config: dict | None = None) -> None:
        return None  # the embedded worker polls the database

    def ping(self) -> bool | None:
        return None


class CeleryDispatcher:
    def __init__(self, settings: Settings) -> None:
        from jobs.celery_app import make_celery

        self.settings = settings
        self.app = make_celery(settings)

    def enqueue(self, audit_id: str, stages: list[str], token: str,
                config: dict | None = None) -> None:
        from jobs.dispatch import send_audit_chain

        send_audit_chain(self.app, self.settings, audit_id, stages, token, config)

    def ping(self) -> bool | None:
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            return True
        except Exception:  # noqa: BLE001 - health reports unreachable, never raises
            return False


def make_dispatcher(settings: Settings) -> Dispatcher:
    return EmbeddedDispatcher() if settings.embedded else CeleryDispatcher(settings)
