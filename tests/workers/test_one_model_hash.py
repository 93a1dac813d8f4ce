"""One model, one sha256: the API's model id hash, the audit report's model hash, the loader's
hash and the provenance of triggers mined by the CLI are the same number (issue: three hashes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from common.hashing import model_dir_sha256
from tests.service.conftest import Api, make_settings, sst_like_tsv
from workers.context import WorkerContext
from workers.embedded import EmbeddedWorker

ROOT = Path(__file__).resolve().parents[2]


def test_api_audit_loader_and_cli_provenance_agree(tmp_path: Path, sqlite_url: str,
                                                   tiny_bert_dir: Path, tiny_zip: bytes) -> None:
    expected = model_dir_sha256(tiny_bert_dir)

    api = Api(make_settings(tmp_path, sqlite_url))
    h = api.key("acme")
    model = api.upload_model(h, tiny_zip).json()
    data = sst_like_tsv(48)
    ds = api.upload_dataset(h, data, model_id=model["id"]).json()
    audit = api.client.post("/v1/audits", json={"model_id": model["id"], "dataset_id": ds["id"],
                                                "stages": ["clean_eval"]}, headers=h).json()
    assert EmbeddedWorker(WorkerContext.from_settings(api.settings)).run_once() == "done"
    report = api.client.get(f"/v1/audits/{audit['id']}/results", headers=h).json()

    train = tmp_path / "train.tsv"
    train.write_bytes(data)
    out = tmp_path / "triggers.json"
    proc = subprocess.run([sys.executable, "-m", "attaudit", "triggers", "mine", "--model",
                           str(tiny_bert_dir), "--data", str(train), "--out", str(out),
                           "--threshold", "0", "--limit", "12", "--steps", "2"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    provenance = json.loads(out.read_text())["provenance"]

    from attribution.model_loading import load_classifier

    assert model["sha256"] == expected                      # the API (hashed before extraction)
    assert report["metadata"]["model"]["sha256"] == expected  # the audit of the stored tree
    assert provenance["model_sha256"] == expected            # the CLI's trigger provenance
    assert load_classifier(tiny_bert_dir).sha256 == expected  # the loader
    assert "content_sha256" not in report["metadata"]["model"]  # no second model hash in a report
