"""Build the FastAPI app (no logic here): state, error handlers, one router per resource."""

from __future__ import annotations

from fastapi import FastAPI

from common.version import __version__
from infra.db.session import session_factory
from infra.settings import Settings, get_settings
from infra.storage import ArtifactStore
from service.auth import KeyCache
from service.body_gate import BodyGate
from service.errors import install_handlers
from service.offload import Offloader
from service.queue import make_dispatcher
from service.ratelimit import RateLimiter
from service.routers import audits, datasets, health, models


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="attaudit", version=__version__,
                  description="Adversarial-robustness audits for transformer text classifiers.")
    app.state.settings = settings
    app.state.sessions = session_factory(settings.database_url)
    app.state.store = ArtifactStore(settings.storage_path)
    app.state.dispatcher = make_dispatcher(settings)
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.keys = KeyCache(app.state.sessions, settings.auth_cache_seconds)
    # hub download + validation + tokenizer load + storage, with slack for queueing
    app.state.offload = Offloader(settings.upload_threads,
                                  settings.upload_timeout_seconds + settings.tokenizer_probe_seconds + 30)
    app.add_middleware(BodyGate, keys=app.state.keys, upload_cap=int(settings.max_upload_mb * 1024 * 1024),
                       body_cap=settings.max_json_body_kb * 1024)
    install_handlers(app)
    for module in (models, datasets, audits, health):
        app.include_router(module.router)
    return app
