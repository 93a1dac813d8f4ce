"""The hostile-upload corpus through the HTTP API: the documented 4xx with a machine-readable
code and a sentence, and nothing stored (no row, no file in the storage directory)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra.db.models import DatasetRow, ModelRow
from tests.reliability.conftest import Api, make_api, make_settings
from tests.service.hostile.conftest import tree
from tests.service.hostile.corpus import MODEL_CASES, Case, Ctx, model_files, write_zip
from tests.service.hostile.dataset_corpus import DATASET_CASES, DatasetCase

MB = 1024 * 1024
# Validator limits -> the service settings that set them (limits_from_settings).
SETTING_FOR_LIMIT = {
    "max_member_bytes": ("max_uncompressed_mb", 1 / MB),
    "max_total_bytes": ("max_uncompressed_mb", 1 / MB),
    "max_upload_bytes": ("max_upload_mb", 1 / MB),
    "max_parameters": ("max_model_parameters", 1),
    "max_dataset_rows": ("max_dataset_rows", 1),
    "max_dataset_bytes": ("max_upload_mb", 1 / MB),
    "max_model_memory_bytes": ("max_model_memory_mb", 1 / MB),
    "max_validation_seconds": ("upload_timeout_seconds", 1),
}
# Where the HTTP layer answers before the validator runs, its own code is the documented one.
HTTP_CODE = {"too_many_bytes": "upload_too_large", "empty_file": "empty_upload"}


def _settings_for(limits: dict) -> dict:
    return {SETTING_FOR_LIMIT[k][0]: v * SETTING_FOR_LIMIT[k][1] for k, v in limits.items()}


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Api]:
    """One database and storage dir; an app per distinct limit set (created on demand)."""
    return {"_root": tmp_path_factory.mktemp("http_uploads")}


def _app(apps: dict, limits: dict) -> Api:
    key = repr(sorted(limits.items()))
    if key not in apps:
        root = apps["_root"]
        apps[key] = make_api(make_settings(root, **_settings_for(limits)))
        apps[key].auth = {"Authorization": f"Bearer {apps[key].key(f'tenant-{len(apps)}')}"}
    return apps[key]


_NAMESPACE = re.compile(r"tenants(/[0-9a-f]{32}(/tmp)?)?")  # a tenant's empty storage skeleton


def _snapshot(api: Api) -> tuple:
    """Rows and every stored path, except the empty namespace directories a first request makes."""
    paths = {p for p in tree(api.settings.storage_path) if not _NAMESPACE.fullmatch(p)}
    return api.count(ModelRow), api.count(DatasetRow), paths


def _check_refusal(resp, code: str, api: Api, before: tuple) -> dict:  # noqa: ANN001
    assert 400 <= resp.status_code < 500, resp.text
    err = resp.json()["error"]
    assert err["code"] == code, err
    assert err["message"].endswith(".") and len(err["message"].split()) >= 4
    assert _snapshot(api) == before, "a refused upload left a row or a file"
    return err


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda c: c.name)
def test_hostile_model_over_http(case: Case, apps: dict, tiny_model: Path, tmp_path: Path, reliability) -> None:
    api = _app(apps, case.limits)
    ctx = Ctx(outside=tmp_path / "outside", marker=tmp_path / "PICKLE_RAN")
    ctx.outside.mkdir()
    upload = case.build(tmp_path, tiny_model, ctx)
    before = _snapshot(api)
    with open(upload, "rb") as fh:
        resp = api.client.post("/v1/models", files={"file": (upload.name, fh)}, headers=api.auth)
    err = _check_refusal(resp, case.code, api, before)
    assert list(ctx.outside.iterdir()) == [] and not ctx.marker.exists()
    reliability.row("uploads_http", case=case.name, kind="model", status=resp.status_code,
                    code=err["code"], rows_added=0, files_added=0)


@pytest.mark.parametrize("case", DATASET_CASES, ids=lambda c: c.name)
def test_hostile_dataset_over_http(case: DatasetCase, apps: dict, tiny_model: Path, tmp_path: Path, reliability) -> None:
    api = _app(apps, case.limits)
    form = {k: v for k, v in case.mapping.items() if k != "labels"}
    if "labels" in case.mapping:  # label checks need the model the dataset is for
        files = model_files(tiny_model)
        files["config.json"] = files["config.json"].replace(
            b'"model_type"', b'"id2label": {"0": "negative", "1": "positive"}, "model_type"')
        with open(write_zip(tmp_path / "m.zip", files), "rb") as fh:
            model = api.client.post("/v1/models", files={"file": ("m.zip", fh)}, headers=api.auth)
        assert model.status_code in (200, 201), model.text
        form["model_id"] = model.json()["id"]
    upload = case.build(tmp_path)
    before = _snapshot(api)
    with open(upload, "rb") as fh:
        resp = api.client.post("/v1/datasets", files={"file": (upload.name, fh)}, data=form, headers=api.auth)
    err = _check_refusal(resp, HTTP_CODE.get(case.name, case.code), api, before)
    reliability.row("uploads_http", case=case.name, kind="dataset", status=resp.status_code,
                    code=err["code"], rows_added=0, files_added=0)


def test_valid_upload_is_stored_once(apps: dict, tiny_model: Path, tmp_path: Path, reliability) -> None:
    api = _app(apps, {})
    up = write_zip(tmp_path / "m.zip", model_files(tiny_model))
    before_rows = api.count(ModelRow)
    ids = []
    for expected in (201, 200):
        with open(up, "rb") as fh:
            resp = api.client.post("/v1/models", files={"file": ("m.zip", fh)}, headers=api.auth)
        assert resp.status_code == expected, resp.text
        ids.append(resp.json()["id"])
    assert ids[0] == ids[1] and api.count(ModelRow) == before_rows + 1
    reliability.figure("uploads_http", "valid model re-uploaded", "same id, one row")
