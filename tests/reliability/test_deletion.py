"""Deletion, purge, retention and per-tenant storage, on a real audit run by the worker code.

- ``DELETE /v1/audits/{id}?purge=true`` removes the audit's rows, report files and work directory;
- ``DELETE /v1/models/{id}`` and ``/v1/datasets/{id}`` remove the row and, once no other row of
  the tenant references them, the files (a blob shared by two datasets survives the first delete);
- another tenant's copy of the same file lives in its own namespace and is untouched;
- the retention sweep removes finished audits' work directories after ``work_retention_hours``.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from infra.db.models import Audit, StageResult, utcnow
from tests.reliability.conftest import make_api, make_settings
from tests.reliability.test_crashes import dataset
from tests.service.hostile.corpus import model_files, write_zip
from workers import retention
from workers.context import WorkerContext
from workers.embedded import EmbeddedWorker

TWO_TEXT_COLUMNS = b"sentence\tother\tlabel\n" + b"".join(
    f"the film was {w}\tit was {w}\t{int(w in ('good', 'fun'))}\n".encode() for w in ("good", "bad", "fun", "dull") * 6)


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and "/tmp/" not in f"/{p.relative_to(root)}"}


def test_delete_purge_and_retention(tmp_path: Path, tiny_model: Path, reliability) -> None:
    api = make_api(make_settings(tmp_path, work_retention_hours=1))
    ctx = WorkerContext.from_settings(api.settings)
    c = api.client
    h = {t: {"Authorization": f"Bearer {api.key(t)}"} for t in ("alice", "bob")}
    zipped = write_zip(tmp_path / "m.zip", model_files(tiny_model)).read_bytes()
    ids: dict[str, dict] = {}
    for t in ("alice", "bob"):  # the same model and file for both tenants
        model = c.post("/v1/models", files={"file": ("m.zip", zipped)}, headers=h[t])
        assert model.status_code == 201, model.text  # new for each tenant: nothing says bob's exists
        ds = c.post("/v1/datasets", files={"file": ("d.tsv", dataset())}, headers=h[t]).json()["id"]
        audit = c.post("/v1/audits", json={"model_id": model.json()["id"], "dataset_id": ds,
                                           "stages": ["clean_eval"]}, headers=h[t]).json()["id"]
        assert EmbeddedWorker(ctx).run_once() == "done"
        assert c.get(f"/v1/audits/{audit}", headers=h[t]).json()["status"] == "succeeded"
        ids[t] = {"model": model.json()["id"], "dataset": ds, "audit": audit}
    root = api.settings.storage_path
    with api.sessions() as s:
        tenants = {t: s.get(Audit, ids[t]["audit"]).tenant_id for t in ids}
    spaces = {t: root / "tenants" / tenants[t] for t in ids}
    bob_before = _files(spaces["bob"])
    alice_before = _files(spaces["alice"])
    assert any(f.startswith("trees/") for f in alice_before) and any(f.startswith("work/") for f in alice_before)

    a = ids["alice"]
    r = c.delete(f"/v1/models/{a['model']}", headers=h["alice"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "model_in_use"
    r = c.delete(f"/v1/datasets/{a['dataset']}", headers=h["alice"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "dataset_in_use"
    assert c.delete(f"/v1/audits/{a['audit']}?purge=true", headers=h["bob"]).status_code == 404  # not bob's

    assert c.delete(f"/v1/audits/{a['audit']}?purge=true", headers=h["alice"]).status_code == 204
    assert c.get(f"/v1/audits/{a['audit']}", headers=h["alice"]).status_code == 404
    with api.sessions() as s:
        assert s.scalar(select(func.count()).select_from(StageResult).where(StageResult.audit_id == a["audit"])) == 0
    after_purge = _files(spaces["alice"])
    assert not any(f.startswith(f"work/{a['audit']}") for f in after_purge)
    assert len([f for f in after_purge if f.startswith("blobs/")]) == 1  # only the dataset file is left

    assert c.delete(f"/v1/models/{a['model']}", headers=h["alice"]).status_code == 204
    assert c.delete(f"/v1/datasets/{a['dataset']}", headers=h["alice"]).status_code == 204
    assert c.get(f"/v1/models/{a['model']}", headers=h["alice"]).status_code == 404
    assert _files(spaces["alice"]) == set(), _files(spaces["alice"])
    assert _files(spaces["bob"]) == bob_before  # the other tenant's copies are untouched

    # one file behind two datasets (two column mappings): the file goes with the last of them
    first = c.post("/v1/datasets", files={"file": ("t.tsv", io.BytesIO(TWO_TEXT_COLUMNS))},
                   data={"text_column": "sentence"}, headers=h["alice"]).json()["id"]
    second = c.post("/v1/datasets", files={"file": ("t.tsv", io.BytesIO(TWO_TEXT_COLUMNS))},
                    data={"text_column": "other"}, headers=h["alice"]).json()["id"]
    assert first != second and len(_files(spaces["alice"])) == 1
    assert c.delete(f"/v1/datasets/{first}", headers=h["alice"]).status_code == 204
    assert len(_files(spaces["alice"])) == 1
    assert c.delete(f"/v1/datasets/{second}", headers=h["alice"]).status_code == 204
    assert _files(spaces["alice"]) == set()

    # retention: bob's finished audit keeps its work directory for an hour, then loses it
    b = ids["bob"]
    assert retention.sweep(ctx) == []
    with api.sessions() as s:
        s.execute(update(Audit).where(Audit.id == b["audit"]).values(finished_at=utcnow() - timedelta(hours=2)))
        s.commit()
    assert retention.sweep(ctx) == [b["audit"]]
    assert not (spaces["bob"] / "work" / b["audit"]).exists()
    assert c.get(f"/v1/audits/{b['audit']}/report", headers=h["bob"]).status_code == 200  # the report stays
    reliability.row("deletion", action="purge a succeeded audit", removed="audit + stage rows, report blobs, work dir",
                    other_tenant="untouched")
    reliability.row("deletion", action="delete model / dataset in use", removed="nothing (409 *_in_use)",
                    other_tenant="untouched")
    reliability.row("deletion", action="delete model + dataset after the purge",
                    removed=f"{len(alice_before)} files -> 0 in the tenant's namespace", other_tenant="untouched")
    reliability.row("deletion", action="one file behind two datasets", removed="kept after the 1st delete, gone after the 2nd",
                    other_tenant="")
    reliability.row("deletion", action="retention sweep (work_retention_hours=1, finished 2 h ago)",
                    removed="work dir (report kept)", other_tenant="")
