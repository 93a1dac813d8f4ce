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

    # Worker behaviour.
    worker_memory_mb: float | None = None   # resident-size budget per worker process
    lease_seconds: float = 60.0
    queued_grace_seconds: float = 600.0
    reconcile_interval_seconds: float = 30.0
    poll_interval_seconds: float = 1.0
    progress_interval_seconds: float = 0.5

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

    @property
    def storage_path(self) -> Path:
        assert self.storage_dir is not None  # filled by the validator
        return Path(self.storage_dir)


@lru_cache
def get_settings() -> Settings:
    return Settings()
