"""Send an audit as a Celery chain: one task per remaining stage (gpu queue), then the report (cpu).

A chain means a crash loses at most the stage that was running. Signatures are built by
task name, so the API process never imports the task module (nor torch).
"""

from __future__ import annotations

from celery import Celery, chain

from service.settings import Settings


def send_audit_chain(app: Celery, settings: Settings, audit_id: str, stages: list[str],
                     token: str) -> None:
    steps = [app.signature("attaudit.stage", args=(audit_id, stage, token), immutable=True,
                           queue=settings.gpu_queue) for stage in stages]
    steps.append(app.signature("attaudit.report", args=(audit_id, token), immutable=True,
                               queue=settings.cpu_queue))
    chain(*steps).apply_async()
