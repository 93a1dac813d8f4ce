"""/v1/datasets: upload CSV/TSV/JSONL/Parquet with a column mapping, list, get, delete."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from anyio import to_thread
from fastapi import APIRouter, Form, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from infra.db.models import DatasetRow, ModelRow
from infra.storage import ArtifactStore
from service import deletion
from service.deps import CurrentTenant, OffloadDep, SessionDep, SettingsDep, StoreDep
from service.errors import APIError, get_owned, sentence
from service.schemas import DatasetOut, error_responses
from service.uploads import check_declared_size, discard, limits_from_settings, save_upload
from service.validation import UploadLimits, UploadRejected, validate_dataset_file

router = APIRouter(prefix="/v1/datasets", tags=["datasets"],
                   responses=error_responses(400, 401, 404, 413, 415, 422, 429, 503))


def _store_dataset(sessions, tenant_id: str, store: ArtifactStore, path: Path, filename: str,  # noqa: ANN001
                   model_id: str | None, limits: UploadLimits, mapping: dict) -> JSONResponse:
    """Validate, store and insert the row. Blocking: runs in the upload pool."""
    with sessions() as session:
        labels = None
        if model_id:
            model = get_owned(session, ModelRow, model_id, tenant_id, "model")
            labels = list(model.labels)
        session.commit()  # no connection held while the file is validated
        manifest = validate_dataset_file(path, limits, labels=labels, **mapping)
        sha = store.put_file(path)
        key_src = json.dumps([sha, manifest.text_column, manifest.pair_column, manifest.label_column])
        content_key = hashlib.sha256(key_src.encode()).hexdigest()
        existing = session.scalar(select(DatasetRow).where(DatasetRow.tenant_id == tenant_id,
                                                           DatasetRow.content_key == content_key))
        if existing is not None:
            return JSONResponse(DatasetOut.model_validate(existing).model_dump(mode="json"), 200)
        row = DatasetRow(tenant_id=tenant_id, sha256=sha, content_key=content_key,
                         format=manifest.format, filename=filename[:300],
                         text_column=manifest.text_column, pair_column=manifest.pair_column,
                         label_column=manifest.label_column, rows=manifest.rows,
                         label_counts=dict(manifest.label_counts))
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            row = session.scalars(select(DatasetRow).where(DatasetRow.tenant_id == tenant_id,
                                                           DatasetRow.content_key == content_key)).one()
            return JSONResponse(DatasetOut.model_validate(row).model_dump(mode="json"), 200)
        return JSONResponse(DatasetOut.model_validate(row).model_dump(mode="json"), 201)


@router.post("", response_model=DatasetOut, status_code=201)
async def upload_dataset(request: Request, tenant: CurrentTenant, settings: SettingsDep,
                         store: StoreDep, offload: OffloadDep, file: UploadFile,
                         text_column: str | None = Form(None), pair_column: str | None = Form(None),
                         label_column: str | None = Form(None),
                         model_id: str | None = Form(None)) -> JSONResponse:
    """The file goes in ``file``; ``model_id`` (optional) checks labels against that model's.

    Validation, storage and the row insert run in the upload pool (``service.offload``)."""
    check_declared_size(request, settings)
    scratch = store.scratch_dir()
    try:
        suffix = Path(file.filename or "").suffix.lower()[:10]
        path = scratch / f"upload{suffix}"
        await save_upload(file, path, settings)
        mapping = dict(text_column=text_column or None, pair_column=pair_column or None,
                       label_column=label_column or None)
        return await offload.run(_store_dataset, request.app.state.sessions, tenant.id, store, path,
                                 file.filename or "upload", model_id or None,
                                 limits_from_settings(settings), mapping)
    except UploadRejected as exc:
        raise APIError(exc.status, exc.code, sentence(exc.message)) from None
    finally:
        await to_thread.run_sync(discard, scratch)


@router.get("", response_model=list[DatasetOut])
def list_datasets(tenant: CurrentTenant, session: SessionDep) -> list[DatasetRow]:
    return list(session.scalars(select(DatasetRow).where(DatasetRow.tenant_id == tenant.id)
                                .order_by(DatasetRow.created_at.desc()).limit(500)))


@router.get("/{dataset_id}", response_model=DatasetOut)
def get_dataset(dataset_id: str, tenant: CurrentTenant, session: SessionDep) -> DatasetRow:
    row = get_owned(session, DatasetRow, dataset_id, tenant, "dataset")
    return row


@router.delete("/{dataset_id}", status_code=204, responses={409: {"description": "audits still use it"}})
def delete_dataset(dataset_id: str, tenant: CurrentTenant, session: SessionDep, store: StoreDep) -> Response:
    """Delete the dataset's row and, when no other row of this tenant shares it, its file."""
    deletion.delete_dataset(session, store, get_owned(session, DatasetRow, dataset_id, tenant, "dataset"))
    return Response(status_code=204)
