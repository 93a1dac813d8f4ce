"""Service settings: one pydantic-settings class read from ``ATTAUDIT_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "attaudit"


class Settings(BaseSettings):
    """Everything the API, the workers and the CLI need to find each other.

    ``database_url`` empty means a SQLite file in ``data_dir``; ``broker_url`` empty means the
    embedded default (no Redis: ``attaudit serve`` runs a database-polling worker itself).
    """

    model_config = SettingsConfigDict(env_prefix="ATTAUDIT_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str = ""
    broker_url: str = ""
    result_backend_url: str = ""
    storage_dir: Path | None = None
    # Queue names are f"{queue_prefix}gpu" and f"{queue_prefix}cpu" (tests isolate runs with it).
    queue_prefix: str = ""

    # Limits (every refusal is a 4xx with a machine-readable code).
    max_upload_mb: float = 1024.0
    max_archive_members: int = 64
    max_uncompressed_mb: float = 4096.0
    max_compression_ratio: float = 200.0
    max_dataset_rows: int = 200_000
    max_model_mb: float = 2048.0            # safetensors data of one model
    max_model_parameters: int = 600_000_000
    max_concurrent_audits: int = 4
    rate_limit_per_minute: int = 600
    max_model_memory_mb: float = 8192.0     # what config.json implies for an audit (worker_memory_mb wins if set)
    max_json_body_kb: int = 1024            # any request body that is not an upload

    # Off-loop upload work and API timeouts.
    upload_threads: int = 2                 # uploads validated concurrently (each in a thread)
    upload_timeout_seconds: float = 120.0   # wall time of one validation
    hub_timeout_seconds: float = 300.0      # a hub download, killed past it
    tokenizer_probe_seconds: float = 30.0   # the isolated tokenizer load at upload
    tokenizer_probe_memory_mb: float = 2048.0
    auth_cache_seconds: float = 5.0         # a revoked key stops working within this
    http_timeout_keep_alive: int = 5        # uvicorn, `attaudit serve`
    http_header_timeout: float = 10.0       # a connection must send its request headers within this
    http_max_header_bytes: int = 64 * 1024
    http_limit_concurrency: int = 500

    # Worker behaviour.
    worker_memory_mb: float | None = None   # resident-size budget per worker process
    lease_seconds: float = 60.0
    queued_grace_seconds: float = 600.0
    reconcile_interval_seconds: float = 30.0
    poll_interval_seconds: float = 1.0
    progress_interval_seconds: float = 0.5
    # Supervision (issue 13): a stage whose process dies is retried, then the audit fails.
    max_stage_attempts: int = Field(3, ge=1)       # starts of one stage that may end their worker
    default_time_budget_s: float = Field(6 * 3600, gt=0)  # when an audit sets no time_budget_s
    budget_grace_seconds: float = 30.0             # past the budget without a progress check: killed
    worker_heartbeat_seconds: float = 5.0          # how often a worker writes its `workers` row
    worker_stale_seconds: float = 30.0             # older than this, health counts a worker dead
    shutdown_grace_seconds: float = 10.0           # SIGTERM: wait for a stage boundary this long
    # Finished audits' work directories (pipeline cache, dataset link) are deleted after this.
    work_retention_hours: float = Field(24.0, ge=0)

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'attaudit.db'}"
        if self.storage_dir is None:
            self.storage_dir = self.data_dir / "storage"
        return self

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: the server runs the work itself."""
        return not self.broker_url

    @property
    def gpu_queue(self) -> str:
        return f"{self.queue_prefix}gpu"

    @property
    def cpu_queue(self) -> str:
        return f"{self.queue_prefix}cpu"

    def audit_time_budget(self, config: dict | None) -> float:
        """An audit's wall-clock budget: its config's ``time_budget_s``, else the service default
        (every audit has one). The pipeline's ticks, the supervisor and Celery's hard limit all
        read it here."""
        own = (config or {}).get("time_budget_s")
        return float(own) if own else float(self.default_time_budget_s)

    @property
    def storage_path(self) -> Path:
        assert self.storage_dir is not None  # filled by the validator
        return Path(self.storage_dir)


@lru_cache
def get_settings() -> Settings:
    return Settings()
