"""/v1/models: upload a model directory as .zip/.tar.gz (or a hub reference), list, get, delete."""

from __future__ import annotations

from pathlib import Path

from anyio import to_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import UploadFile

from infra.db.models import ModelRow
from infra.storage import ArtifactStore
from service import deletion
from service.deps import CurrentTenant, OffloadDep, SessionDep, SettingsDep, StoreDep
from service.errors import APIError, get_owned, sentence
from service.hub_fetch import fetch
from service.schemas import HubModelRef, ModelOut, error_responses
from service.uploads import check_declared_size, discard, limits_from_settings, save_upload
from service.validation import (
    UploadLimits,
    UploadRejected,
    store_model_archive,
    validate_model_directory,
)

router = APIRouter(prefix="/v1/models", tags=["models"],
                   responses=error_responses(400, 401, 404, 413, 415, 422, 429, 502, 503, 504))


def _store_model(sessions, tenant_id: str, manifest, filename: str) -> JSONResponse:  # noqa: ANN001
    """Insert the tenant's row (or return the existing one). Blocking: runs in the upload pool."""
    sha = manifest.sha256
    with sessions() as session:
        existing = session.scalar(select(ModelRow).where(ModelRow.tenant_id == tenant_id,
                                                         ModelRow.sha256 == sha))
        if existing is not None:
            return JSONResponse(ModelOut.model_validate(existing).model_dump(mode="json"), 200)
        row = ModelRow(tenant_id=tenant_id, sha256=sha, architecture=manifest.architecture,
                       labels=list(manifest.labels), num_parameters=manifest.num_parameters,
                       num_layers=manifest.num_layers, num_heads=manifest.num_heads,
                       filename=filename[:300])
        session.add(row)
        try:
            session.commit()
        except IntegrityError:  # the same model uploaded concurrently: return the winner
            session.rollback()
            row = session.scalars(select(ModelRow).where(ModelRow.tenant_id == tenant_id,
                                                         ModelRow.sha256 == sha)).one()
            return JSONResponse(ModelOut.model_validate(row).model_dump(mode="json"), 200)
        return JSONResponse(ModelOut.model_validate(row).model_dump(mode="json"), 201)


def _from_archive(sessions, tenant_id: str, store: ArtifactStore, archive: Path,  # noqa: ANN001
                  filename: str, limits: UploadLimits) -> JSONResponse:
    manifest = store_model_archive(archive, store.trees_root, limits).manifest
    return _store_model(sessions, tenant_id, manifest, filename)


def _from_hub(sessions, tenant_id: str, store: ArtifactStore, ref: HubModelRef, dest: Path,  # noqa: ANN001
              limits: UploadLimits, hub_timeout: float) -> JSONResponse:
    fetch(ref.hub_id, ref.revision, dest, hub_timeout)
    manifest = validate_model_directory(dest, limits)
    if not store.has_tree(manifest.sha256):
        store.put_tree(dest, sha=manifest.sha256)
    return _store_model(sessions, tenant_id, manifest, ref.hub_id)


@router.post("", response_model=ModelOut, status_code=201,
             responses={200: {"description": "The same model was uploaded before"}})
async def upload_model(request: Request, tenant: CurrentTenant, settings: SettingsDep,
                       store: StoreDep, offload: OffloadDep) -> JSONResponse:
    """Multipart ``file`` (.zip / .tar.gz of a saved model) or JSON ``{"hub_id": ...}``.

    Only the body transfer runs on the event loop; validation, the tokenizer load, storage and
    the database row run in the upload pool (``service.offload``) with a timeout.
    """
    ctype = request.headers.get("content-type", "")
    limits = limits_from_settings(settings)
    sessions = request.app.state.sessions
    scratch = store.scratch_dir()
    try:
        if ctype.startswith("application/json"):
            try:
                ref = HubModelRef.model_validate_json(await request.body())
            except (ValidationError, ValueError):
                raise APIError(422, "invalid_request",
                               "A JSON model reference needs a string field 'hub_id'.") from None
            return await offload.run(_from_hub, sessions, tenant.id, store, ref, scratch / "model",
                                     limits, settings.hub_timeout_seconds,
                                     timeout=offload.timeout + settings.hub_timeout_seconds)
        check_declared_size(request, settings)
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise APIError(400, "missing_file", "Send the model archive in the multipart field 'file'.")
        archive = scratch / "upload"
        await save_upload(upload, archive, settings)
        return await offload.run(_from_archive, sessions, tenant.id, store, archive, upload.filename, limits)
    except UploadRejected as exc:
        raise APIError(exc.status, exc.code, sentence(exc.message)) from None
    finally:
        await to_thread.run_sync(discard, scratch)


@router.get("", response_model=list[ModelOut])
def list_models(tenant: CurrentTenant, session: SessionDep) -> list[ModelRow]:
    return list(session.scalars(select(ModelRow).where(ModelRow.tenant_id == tenant.id)
                                .order_by(ModelRow.created_at.desc()).limit(500)))


@router.get("/{model_id}", response_model=ModelOut)
def get_model(model_id: str, tenant: CurrentTenant, session: SessionDep) -> ModelRow:
    row = get_owned(session, ModelRow, model_id, tenant, "model")
    return row


@router.delete("/{model_id}", status_code=204, responses={409: {"description": "audits still use it"}})
def delete_model(model_id: str, tenant: CurrentTenant, session: SessionDep, store: StoreDep) -> Response:
    """Delete the model's row and, when no other row of this tenant shares it, its files."""
    deletion.delete_model(session, store, get_owned(session, ModelRow, model_id, tenant, "model"))
    return Response(status_code=204)
