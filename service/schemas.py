"""Pydantic request/response schemas (separate from the SQLAlchemy tables)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from common.audit_config import AuditConfig


def _utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes (stored UTC): mark them UTC so the JSON is RFC 3339."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]

AuditStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class ModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    sha256: str
    architecture: str
    labels: list[str]
    num_parameters: int
    num_layers: int
    num_heads: int
    filename: str
    created_at: UtcDatetime


class HubModelRef(BaseModel):
    hub_id: str = Field(min_length=1, max_length=200)
    revision: str | None = None


class DatasetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    sha256: str
    format: str
    filename: str
    text_column: str
    pair_column: str | None
    label_column: str | None
    rows: int
    label_counts: dict[str, int]
    created_at: UtcDatetime


class AuditCreate(AuditConfig):
    """The two ids plus any ``AuditConfig`` option (stages, budgets, seed, ...), all optional.

    The column mapping comes from the dataset, so ``text_column``/``pair_column``/
    ``label_column`` are refused here. Unknown fields are refused (``extra="forbid"``).
    """

    model_id: str
    dataset_id: str


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    model_id: str
    dataset_id: str
    status: AuditStatus
    stages: list[str]
    current_stage: str | None
    progress: float
    error: str | None
    cancel_requested: bool
    config: dict[str, Any]
    verdict: dict[str, Any] | None = Field(None, description=(
        "the vulnerability verdict once the triggers stage finished (attacks.verdict): headline, "
        "vulnerability_drop, per class the worst spurious/counter-evidence trigger with drop, 95% CI, "
        "success rate and n, counts per kind, evidence"))
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None


class AuditPage(BaseModel):
    items: list[AuditOut]
    total: int
    limit: int
    offset: int


class WorkersHealth(BaseModel):
    alive: int = Field(description="workers whose heartbeat is newer than worker_stale_seconds")
    last_heartbeat: datetime | None = Field(description="the newest heartbeat of any worker")
    queue_depth: int = Field(description="audits queued, waiting for a worker")
    running: int = Field(description="audits running now")


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    database: bool
    broker: bool | None  # None on the embedded default (no broker)
    mode: Literal["embedded", "celery"]
    workers: WorkersHealth | None = None  # None when the database cannot be read
    detail: str | None = Field(None, description="why the status is degraded, in one sentence")


class ErrorBody(BaseModel):
    code: str = Field(description="stable, machine-readable")
    message: str = Field(description="one human sentence")
    details: list[dict[str, Any]] | None = None


class ErrorOut(BaseModel):
    """Every 4xx/5xx answer: ``{"error": {"code", "message"}}``."""

    error: ErrorBody


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the error body for these statuses."""
    return {status: {"model": ErrorOut} for status in statuses}
