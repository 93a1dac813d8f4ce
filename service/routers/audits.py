"""/v1/audits: start (202, queued), list, status, results, report, triggers, recipe, cancel, purge."""

from __future__ import annotations

import logging
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import ValidationError
from sqlalchemy import func, select, update

from infra.db.models import ACTIVE_STATUSES, Audit, DatasetRow, ModelRow, Tenant, new_id, utcnow
from service import deletion
from service.deps import CurrentTenant, SessionDep, SettingsDep, StoreDep
from service.errors import APIError, get_owned
from service.schemas import AuditCreate, AuditOut, AuditPage, error_responses

router = APIRouter(prefix="/v1/audits", tags=["audits"],
                   responses=error_responses(400, 401, 404, 409, 422, 429))
log = logging.getLogger(__name__)


def _own_audit(session, tenant, audit_id: str) -> Audit:  # noqa: ANN001
    return get_owned(session, Audit, audit_id, tenant, "audit")


def lock_tenant(session, tenant_id: str) -> None:  # noqa: ANN001
    """Serialise this tenant's submissions until the transaction ends.

    Counting active audits and then inserting one is a race: 20 concurrent POSTs all counted 0
    and 18 were accepted against a limit of 4. PostgreSQL: ``SELECT ... FOR UPDATE`` on the
    tenant row (other tenants are not blocked). SQLite has no row locks: a no-op UPDATE of the
    row takes the database's single write lock (waiting up to the busy timeout), which holds
    until commit. pysqlite begins the transaction right before that UPDATE, so the count that
    follows reads the latest committed state.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(Tenant).where(Tenant.id == tenant_id).values(name=Tenant.name))
    else:
        session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())


def build_config(body: AuditCreate, dataset: DatasetRow) -> dict:
    """Validate the options through the pipeline's own AuditConfig (pydantic, no torch)."""
    from common.audit_config import AuditConfig

    opts = body.model_dump(exclude_unset=True, exclude={"model_id", "dataset_id"})
    mapped = sorted({"text_column", "pair_column", "label_column"} & set(opts))
    if mapped:
        raise APIError(422, "invalid_audit_config",
                       f"The column mapping ({', '.join(mapped)}) belongs to the dataset upload, "
                       "not to the audit.")
    server_side = sorted({"reference_data", "reference_data_sha256"} & set(opts))
    if server_side:
        raise APIError(422, "invalid_audit_config",
                       f"The option {server_side[0]} names a file on the server; through the API the label "
                       "association comes from the uploaded dataset's rows outside the evaluation slice.")
    for spec in opts.get("judges") or []:
        if isinstance(spec, dict) and spec.get("name") in ("model", "nli"):
            raise APIError(422, "invalid_audit_config",
                           f"The {spec['name']} judge loads a model directory on the server; through the API "
                           "use 'auto', 'vader' or an inline lexicon judge.")
        if isinstance(spec, str) and spec not in ("auto", "vader"):
            raise APIError(422, "invalid_audit_config",
                           f"The judge {spec!r} is not 'auto', 'vader' or an inline lexicon judge object.")
    opts.update(text_column=dataset.text_column, pair_column=dataset.pair_column,
                label_column=dataset.label_column)
    try:
        cfg = AuditConfig(**opts)
    except (ValidationError, ValueError) as exc:
        msg = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise APIError(422, "invalid_audit_config", f"The audit options are invalid: {msg}.") from None
    return cfg.model_dump(mode="json")


@router.post("", response_model=AuditOut, status_code=202)
def create_audit(body: AuditCreate, request: Request, tenant: CurrentTenant,
                 session: SessionDep, settings: SettingsDep) -> Audit:
    model = get_owned(session, ModelRow, body.model_id, tenant, "model")
    dataset = get_owned(session, DatasetRow, body.dataset_id, tenant, "dataset")
    config = build_config(body, dataset)
    lock_tenant(session, tenant.id)  # held until the commit below: count and insert are atomic
    active = session.scalar(select(func.count()).select_from(Audit).where(
        Audit.tenant_id == tenant.id, Audit.status.in_(ACTIVE_STATUSES)))
    if active >= settings.max_concurrent_audits:
        session.rollback()  # release the tenant lock before answering
        raise APIError(429, "too_many_audits",
                       f"This tenant already has {active} audits queued or running; "
                       f"the limit is {settings.max_concurrent_audits}.")
    audit = Audit(id=new_id(), tenant_id=tenant.id, model_id=model.id, dataset_id=dataset.id,
                  config=config, stages=list(config["stages"]), status="queued",
                  run_token=new_id(), report_files={})
    session.add(audit)
    session.commit()
    try:  # enqueue only after the commit; if the broker is down the reconciler re-sends it
        request.app.state.dispatcher.enqueue(audit.id, list(audit.stages), audit.run_token, config)
    except Exception as exc:  # noqa: BLE001
        log.warning("enqueue of audit %s failed (%s); the reconciler will retry", audit.id, exc)
    return audit


@router.get("", response_model=AuditPage)
def list_audits(tenant: CurrentTenant, session: SessionDep, settings: SettingsDep,
                limit: Annotated[int, Query(ge=1, le=100)] = 20,
                offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
                status: Annotated[str | None, Query(pattern="^(queued|running|succeeded|failed|cancelled)$")] = None,
                ) -> AuditPage:
    q = select(Audit).where(Audit.tenant_id == tenant.id)
    if status:
        q = q.where(Audit.status == status)
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    rows = session.scalars(q.order_by(Audit.created_at.desc(), Audit.id).limit(limit).offset(offset))
    return AuditPage(items=[AuditOut.model_validate(r) for r in rows], total=total or 0,
                     limit=limit, offset=offset)


def _read_audit(sessions, tenant_id: str, audit_id: str) -> dict:  # noqa: ANN001
    with sessions() as session:
        return AuditOut.model_validate(get_owned(session, Audit, audit_id, tenant_id, "audit")).model_dump(mode="json")


@router.get("/{audit_id}", response_model=AuditOut)
async def get_audit(audit_id: str, request: Request, tenant: CurrentTenant) -> JSONResponse:
    """The status read clients poll: one threadpool hop (session, read, serialise) per request.

    bench/service.py profiled the sync version: a sync session dependency, a sync auth
    dependency holding its own pooled connection and the sync endpoint cost three or four
    threadpool hops and two connection checkouts per request; under 50 clients most of the time
    was spent queueing for those. Auth now comes from the key cache on the event loop.
    """
    return JSONResponse(await to_thread.run_sync(_read_audit, request.app.state.sessions, tenant.id, audit_id))


@router.delete("/{audit_id}", response_model=AuditOut, status_code=202,
               responses={204: {"description": "purged"}})
def cancel_audit(audit_id: str, tenant: CurrentTenant, session: SessionDep, store: StoreDep,
                 purge: Annotated[bool, Query(description="delete a finished audit with its files")] = False,
                 ) -> Audit | Response:
    """Queued audits are cancelled at once; running ones stop at the next boundary or tick.

    ``?purge=true`` on a finished audit deletes its rows, report files and work directory (204).
    """
    audit = _own_audit(session, tenant, audit_id)
    if purge:
        deletion.purge_audit(session, store, audit)
        return Response(status_code=204)
    if audit.status not in ACTIVE_STATUSES:
        raise APIError(409, "audit_finished",
                       f"The audit already finished with status {audit.status!r}.")
    session.execute(update(Audit).where(Audit.id == audit.id, Audit.status == "queued")
                    .values(status="cancelled", cancel_requested=True, finished_at=utcnow()))
    session.execute(update(Audit).where(Audit.id == audit.id, Audit.status == "running")
                    .values(cancel_requested=True))
    session.commit()
    session.refresh(audit)
    return audit


def _artifact(audit: Audit, store, name: str):  # noqa: ANN001, ANN202
    if audit.status != "succeeded":
        raise APIError(409, "audit_not_finished",
                       f"The audit is {audit.status}; results exist once it has succeeded.")
    sha = (audit.report_files or {}).get(name)
    if not sha or not store.has_blob(sha):
        raise APIError(404, "artifact_not_found", f"This audit produced no {name}.")
    return store.blob_path(sha)


@router.get("/{audit_id}/results")
def get_results(audit_id: str, tenant: CurrentTenant, session: SessionDep, store: StoreDep):  # noqa: ANN201
    """The JSON twin of the HTML report."""
    path = _artifact(_own_audit(session, tenant, audit_id), store, "report.json")
    return FileResponse(path, media_type="application/json")


@router.get("/{audit_id}/report")
def get_report(audit_id: str, tenant: CurrentTenant, session: SessionDep, store: StoreDep):  # noqa: ANN201
    path = _artifact(_own_audit(session, tenant, audit_id), store, "report.html")
    return FileResponse(path, media_type="text/html; charset=utf-8")


@router.get("/{audit_id}/triggers")
def get_triggers(audit_id: str, tenant: CurrentTenant, session: SessionDep, store: StoreDep):  # noqa: ANN201
    path = _artifact(_own_audit(session, tenant, audit_id), store, "triggers.json")
    return FileResponse(path, media_type="application/json",
                        filename=f"triggers-{audit_id}.json")


@router.get("/{audit_id}/tensors")
def get_tensors(audit_id: str, tenant: CurrentTenant, session: SessionDep, store: StoreDep):  # noqa: ANN201
    """The dense (L, H, T, T) attribution tensors (safetensors; audits run with
    ``dense_tensors: true``; layout in ``attribution.tensor_sidecar``)."""
    path = _artifact(_own_audit(session, tenant, audit_id), store, "attribution_tensors.safetensors")
    return FileResponse(path, media_type="application/octet-stream",
                        filename=f"attribution-tensors-{audit_id}.safetensors")


@router.get("/{audit_id}/recipe")
def get_recipe(audit_id: str, tenant: CurrentTenant, session: SessionDep, store: StoreDep):  # noqa: ANN201
    path = _artifact(_own_audit(session, tenant, audit_id), store, "recipe.py")
    return FileResponse(path, media_type="text/x-python", filename=f"recipe-{audit_id}.py")


