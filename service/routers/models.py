"""/v1/models: upload a model directory as .zip/.tar.gz (or a hub reference), list, get."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import UploadFile

from infra.db.models import ModelRow
from service.deps import CurrentTenant, SessionDep, SettingsDep, StoreDep
from service.errors import APIError, get_owned, sentence
from service.schemas import HubModelRef, ModelOut, error_responses
from service.uploads import check_declared_size, discard, limits_from_settings, save_upload
from service.validation import UploadRejected, store_model_archive, validate_model_directory

router = APIRouter(prefix="/v1/models", tags=["models"],
                   responses=error_responses(400, 401, 404, 413, 415, 422, 429, 502))


def _store_model(session, tenant, manifest, filename: str) -> JSONResponse:  # noqa: ANN001
    sha = manifest.sha256
    existing = session.scalar(select(ModelRow).where(ModelRow.tenant_id == tenant.id,
                                                     ModelRow.sha256 == sha))
    if existing is not None:
        return JSONResponse(ModelOut.model_validate(existing).model_dump(mode="json"), 200)
    row = ModelRow(tenant_id=tenant.id, sha256=sha, architecture=manifest.architecture,
                   labels=list(manifest.labels), num_parameters=manifest.num_parameters,
                   num_layers=manifest.num_layers, num_heads=manifest.num_heads,
                   filename=filename[:300])
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # the same model uploaded concurrently: return the winner
        session.rollback()
        row = session.scalars(select(ModelRow).where(ModelRow.tenant_id == tenant.id,
                                                     ModelRow.sha256 == sha)).one()
        return JSONResponse(ModelOut.model_validate(row).model_dump(mode="json"), 200)
    return JSONResponse(ModelOut.model_validate(row).model_dump(mode="json"), 201)


@router.post("", response_model=ModelOut, status_code=201,
             responses={200: {"description": "The same model was uploaded before"}})
async def upload_model(request: Request, tenant: CurrentTenant, session: SessionDep,
                       settings: SettingsDep, store: StoreDep) -> JSONResponse:
    """Multipart ``file`` (.zip / .tar.gz of a saved model) or JSON ``{"hub_id": ...}``."""
    ctype = request.headers.get("content-type", "")
    limits = limits_from_settings(settings)
    scratch = store.scratch_dir()
    try:
        if ctype.startswith("application/json"):
            try:
                ref = HubModelRef.model_validate(await request.json())
            except (ValidationError, ValueError):
                raise APIError(422, "invalid_request",
                               "A JSON model reference needs a string field 'hub_id'.") from None
            _download_from_hub(ref, scratch / "model")
            manifest = validate_model_directory(scratch / "model", limits)
            if not store.has_tree(manifest.sha256):
                store.put_tree(scratch / "model", sha=manifest.sha256)
            return _store_model(session, tenant, manifest, ref.hub_id)
        check_declared_size(request, settings)
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise APIError(400, "missing_file", "Send the model archive in the multipart field 'file'.")
        archive = scratch / "upload"
        await save_upload(upload, archive, settings)
        manifest = store_model_archive(archive, store.trees_root, limits).manifest
        return _store_model(session, tenant, manifest, upload.filename)
    except UploadRejected as exc:
        raise APIError(exc.status, exc.code, sentence(exc.message)) from None
    finally:
        discard(scratch)


def _download_from_hub(ref: HubModelRef, dest: Path) -> None:
    """Fetch config, safetensors weights and tokenizer files only (never pickles)."""
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(ref.hub_id, revision=ref.revision, local_dir=dest,
                          allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model"])
    except Exception as exc:  # noqa: BLE001 - any hub failure is the same answer to the client
        raise APIError(502, "hub_unreachable",
                       f"Could not fetch {ref.hub_id!r} from the model hub: {type(exc).__name__}.") from None


@router.get("", response_model=list[ModelOut])
def list_models(tenant: CurrentTenant, session: SessionDep) -> list[ModelRow]:
    return list(session.scalars(select(ModelRow).where(ModelRow.tenant_id == tenant.id)
                                .order_by(ModelRow.created_at.desc()).limit(500)))


@router.get("/{model_id}", response_model=ModelOut)
def get_model(model_id: str, tenant: CurrentTenant, session: SessionDep) -> ModelRow:
    row = get_owned(session, ModelRow, model_id, tenant, "model")
    return row
