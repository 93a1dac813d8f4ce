"""Deleting a tenant's models, datasets and finished audits: rows first, then the files no row
of that tenant references any more (storage is per tenant, so references never cross tenants).

A model or dataset that an audit still names is refused with 409 (``in_use``): delete (purge)
those audits first. An audit is purged only once it is finished; an active one is cancelled
with a plain DELETE first.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from infra.db.models import TERMINAL_STATUSES, Audit, DatasetRow, ModelRow, StageResult, Trigger
from infra.storage import ArtifactStore
from service.errors import APIError


def _audits_using(session: Session, column, value: str) -> int:  # noqa: ANN001
    return session.scalar(select(func.count()).select_from(Audit).where(column == value)) or 0


def delete_model(session: Session, store: ArtifactStore, model: ModelRow) -> None:
    n = _audits_using(session, Audit.model_id, model.id)
    if n:
        raise APIError(409, "model_in_use", f"{n} audit(s) of this tenant use this model; "
                       "purge them first (DELETE /v1/audits/{id}?purge=true).")
    sha = model.sha256
    session.delete(model)
    session.commit()
    still = session.scalar(select(func.count()).select_from(ModelRow).where(
        ModelRow.tenant_id == model.tenant_id, ModelRow.sha256 == sha))
    if not still:
        store.delete_tree(sha)


def delete_dataset(session: Session, store: ArtifactStore, dataset: DatasetRow) -> None:
    n = _audits_using(session, Audit.dataset_id, dataset.id)
    if n:
        raise APIError(409, "dataset_in_use", f"{n} audit(s) of this tenant use this dataset; "
                       "purge them first (DELETE /v1/audits/{id}?purge=true).")
    sha = dataset.sha256
    session.delete(dataset)
    session.commit()
    if not _blob_referenced(session, dataset.tenant_id, sha):
        store.delete_blob(sha)


def purge_audit(session: Session, store: ArtifactStore, audit: Audit) -> None:
    if audit.status not in TERMINAL_STATUSES:
        raise APIError(409, "audit_active", f"The audit is {audit.status}; cancel it first (DELETE without "
                       "purge) and purge it once it has stopped.")
    files = dict(audit.report_files or {})
    session.execute(delete(Trigger).where(Trigger.audit_id == audit.id))
    session.execute(delete(StageResult).where(StageResult.audit_id == audit.id))
    session.execute(delete(Audit).where(Audit.id == audit.id))
    session.commit()
    for sha in set(files.values()):
        if not _blob_referenced(session, audit.tenant_id, sha):
            store.delete_blob(sha)
    store.delete_work_dir(audit.id)


def _blob_referenced(session: Session, tenant_id: str, sha: str) -> bool:
    """Does any dataset or audit report of the tenant still point at blob ``sha``?"""
    if session.scalar(select(func.count()).select_from(DatasetRow).where(
            DatasetRow.tenant_id == tenant_id, DatasetRow.sha256 == sha)):
        return True
    reports = session.scalars(select(Audit.report_files).where(Audit.tenant_id == tenant_id,
                                                              Audit.status == "succeeded"))
    return any(sha in (files or {}).values() for files in reports)
