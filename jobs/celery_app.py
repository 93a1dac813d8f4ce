"""The Celery app: Redis broker/backend in deployments, queues ``gpu`` and ``cpu``.

Reliability settings follow Celery's task guide: ``acks_late`` + ``task_reject_on_worker_lost``
(a task whose worker dies is redelivered, safe because stage tasks are idempotent),
prefetch 1 (a long GPU stage never holds a second message hostage). No torch here.
"""

from __future__ import annotations

from celery import Celery
from kombu import Exchange, Queue

from infra.settings import Settings, get_settings


def make_celery(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    if not settings.broker_url:
        raise ValueError("ATTAUDIT_BROKER_URL is empty: Celery needs a broker "
                         "(the embedded default runs `attaudit worker` without Celery)")
    app = Celery("attaudit", broker=settings.broker_url,
                 backend=settings.result_backend_url or settings.broker_url,
                 include=["workers.tasks"])
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # a process that went over its memory budget is replaced after its task
        worker_max_memory_per_child=int(settings.worker_memory_mb * 1024) if settings.worker_memory_mb else None,
        task_queues=[Queue(q, Exchange(q, type="direct"), routing_key=q)
                     for q in (settings.gpu_queue, settings.cpu_queue)],
        task_default_exchange=settings.gpu_queue, task_default_routing_key=settings.gpu_queue,
        task_default_queue=settings.gpu_queue,
        task_routes={"attaudit.stage": {"queue": settings.gpu_queue},
                     "attaudit.report": {"queue": settings.cpu_queue}},
        task_serializer="json", accept_content=["json"], result_serializer="json",
        result_expires=24 * 3600,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 6 * 3600},
        worker_send_task_events=True, task_send_sent_event=True,  # for flower
        task_track_started=True,
        task_ignore_result=True,  # outcomes live in the database, not the result backend
    )
    return app
