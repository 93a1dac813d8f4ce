"""Every refused upload kind answers its 4xx with a code, and nothing is stored (no blob,
no tree, no row, no scratch file left behind)."""

from __future__ import annotations

import io
import json
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from infra.db.models import DatasetRow, ModelRow
from tests.service.conftest import Api, make_settings, zip_dir


def _zip(members: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def _tar(model_dir: Path, extra: tarfile.TarInfo) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for p in sorted(model_dir.iterdir()):
            tf.add(p, arcname=p.name)
        tf.addfile(extra)
    return buf.getvalue()


def _model_files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()}


def _stored(api: Api) -> tuple[int, int, int]:
    root = api.settings.storage_path
    spaces = [root, *sorted((root / "tenants").glob("*"))]  # the shared root and every tenant's namespace
    objects = sum(1 for d in spaces for sub in ("blobs", "trees") if (d / sub).is_dir()
                  for p in (d / sub).rglob("*") if p.is_file())
    scratch = sum(1 for d in spaces if (d / "tmp").is_dir() for _ in (d / "tmp").rglob("*"))
    with api.app.state.sessions() as s:
        rows = s.scalar(select(func.count()).select_from(ModelRow)) + \
            s.scalar(select(func.count()).select_from(DatasetRow))
    return objects, scratch, rows


def _model_cases(d: Path) -> list[tuple[str, bytes, str, int]]:
    files = _model_files(d)
    cfg = json.loads(files["config.json"])
    bad_arch = dict(cfg, model_type="gpt2", architectures=["GPT2LMHeadModel"])
    fifo = tarfile.TarInfo("fifo")
    fifo.type = tarfile.FIFOTYPE
    dev = tarfile.TarInfo("dev")
    dev.type = tarfile.CHRTYPE
    hard = tarfile.TarInfo("hard")
    hard.type, hard.linkname = tarfile.LNKTYPE, "config.json"
    bomb = b"\0" * (20 * 1024 * 1024)
    return [
        ("not_archive.zip", b"this is not an archive at all", "archive_format", 415),
        ("pickle.zip", _zip({**files, "pytorch_model.bin": b"\x80\x04K\x01."}), "pickle_refused", 422),
        ("traversal.zip", _zip({**files, "../evil.txt": b"x"}), "archive_path_traversal", 400),
        ("absolute.zip", _zip({**files, "/etc/evil.txt": b"x"}), "archive_absolute_path", 400),
        ("symlink.zip", _zip(files, symlink="link.txt"), "archive_link", 400),
        ("hardlink.tar.gz", _tar(d, hard), "archive_link", 400),
        ("fifo.tar.gz", _tar(d, fifo), "archive_special_file", 400),
        ("device.tar.gz", _tar(d, dev), "archive_special_file", 400),
        ("many.zip", _zip({**files, **{f"extra{i}.txt": b"x" for i in range(80)}}), "archive_too_many_members", 413),
        ("bomb.zip", _zip({**files, "README.md": bomb}), "archive_bomb", 413),
        ("arch.zip", _zip({**files, "config.json": json.dumps(bad_arch).encode()}), "unsupported_architecture", 422),
        ("noweights.zip", _zip({k: v for k, v in files.items() if not k.endswith(".safetensors")}),
         "model_weights_missing", 422),
    ]


def test_refused_model_uploads_store_nothing(api: Api, tiny_bert_dir: Path) -> None:
    h = api.key("acme")
    before = _stored(api)
    assert before == (0, 0, 0)
    for name, data, code, status in _model_cases(tiny_bert_dir):
        r = api.upload_model(h, data, name=name)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (name, r.text)
        assert r.json()["error"]["message"][0].isupper()
        assert _stored(api) == before, name
    assert api.upload_model(h, zip_dir(tiny_bert_dir)).status_code == 201  # the clean one passes
    assert _stored(api)[2] == 1


def test_upload_size_limit(tmp_path: Path, sqlite_url: str, tiny_zip: bytes) -> None:
    api = Api(make_settings(tmp_path, sqlite_url, max_upload_mb=0.01))  # ~10 KB
    h = api.key("acme")
    r = api.upload_model(h, tiny_zip + b"\0" * 20_000)
    assert r.status_code == 413 and r.json()["error"]["code"] == "upload_too_large"
    assert _stored(api) == (0, 0, 0)


def _parquet_bytes() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table({"text": ["good movie", "bad film"], "label": [5, 0]}), buf)
    return buf.getvalue()


@pytest.mark.parametrize(("name", "data", "form", "code", "status"), [
    ("d.tsv", "sentence\tlabel\ngood\t1\n".encode("utf-16"), {}, "dataset_encoding", 400),
    ("d.tsv", b"sentence\tlabel\nthe movie \xff\xfe\t1\n", {}, "dataset_encoding", 400),
    ("d.xlsx", b"sentence,label\ngood,1\n", {}, "dataset_format", 415),
    ("d.csv", b"sentence,label\ngood,1\n", {"text_column": "review"}, "dataset_column_missing", 422),
    ("d.csv", b"sentence,label\ngood,1\nbad,7\n", {}, "dataset_label_unknown", 422),
    ("d.csv", b"sentence,label\ngood,positive\n", {}, "dataset_label_unknown", 422),
    ("d.jsonl", b'{"text": "good", "label": 1}\n{"text": \n', {}, "dataset_malformed", 400),
    ("d.csv", b"sentence,label\n", {}, "dataset_empty", 422),
    ("d.csv", b"sentence,label\n" + b"good,1\n" * 30, {}, "dataset_too_many_rows", 413),
    ("d.parquet", None, {}, "dataset_label_unknown", 422),
])
def test_refused_dataset_uploads_store_nothing(tmp_path: Path, sqlite_url: str, tiny_zip: bytes,
                                               name: str, data: bytes | None, form: dict,
                                               code: str, status: int) -> None:
    api = Api(make_settings(tmp_path, sqlite_url, max_dataset_rows=20))
    h = api.key("acme")
    model_id = api.upload_model(h, tiny_zip).json()["id"]
    before = _stored(api)
    r = api.upload_dataset(h, data if data is not None else _parquet_bytes(), name=name,
                           model_id=model_id, **form)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert _stored(api) == before


def test_dataset_for_unknown_model_is_404(api: Api, tsv_bytes: bytes) -> None:
    r = api.upload_dataset(api.key("acme"), tsv_bytes, model_id="0" * 32)
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    assert _stored(api) == (0, 0, 0)


def test_hub_reference_without_a_hub(api: Api) -> None:
    h = api.key("acme")
    r = api.client.post("/v1/models", json={"hub_id": "bert-base-uncased"}, headers=h)
    assert r.status_code == 502 and r.json()["error"]["code"] == "hub_unreachable"
    r = api.client.post("/v1/models", json={"name": "x"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    assert _stored(api) == (0, 0, 0)
