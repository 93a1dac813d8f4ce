"""The embedded default end to end: `attaudit serve` with no broker (SQLite, no Redis) runs the
API and a database-polling worker; `attaudit submit` uploads, waits and downloads the report."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from sqlalchemy import func, select

from infra.db.models import StageResult
from infra.db.session import session_factory
from tests.service.conftest import sst_like_tsv
from tests.workers.conftest import base_env, cli, free_port, spawn, stop, wait_healthy, wait_status
from tests.workers.test_celery_integration import assert_clean_eval_consistent


def test_embedded_serve_submit_and_cancel(tmp_path: Path, sqlite_url: str, tiny_bert_dir: Path) -> None:
    env = base_env(tmp_path, sqlite_url)  # no broker: the embedded default
    keys = cli(["keys", "create", "--tenant", "acme"], env)
    assert keys.returncode == 2 and "attaudit db upgrade" in keys.stderr  # no tables yet
    port = free_port()
    log = tmp_path / "serve.log"
    server = spawn(["serve", "--host", "127.0.0.1", "--port", str(port)], env, log)  # migrates
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, server, log)
        keys = cli(["keys", "create", "--tenant", "acme"], env)
        assert keys.returncode == 0, keys.stderr
        key = keys.stdout.strip().splitlines()[-1]
        assert key.startswith("aa_") and " " not in key
        data = tmp_path / "data.tsv"
        data.write_bytes(sst_like_tsv(48))
        out = tmp_path / "out"
        sub = cli(["submit", "--model", str(tiny_bert_dir), "--data", str(data), "--server", base,
                   "--key", key, "--stages", "clean_eval", "--out", str(out), "--poll", "0.3",
                   "--timeout", "150"], env, timeout=200)
        assert sub.returncode == 0, sub.stderr + log.read_text()[-3000:]
        audit_id = sub.stdout.strip().splitlines()[-1]
        assert "<html" in (out / "report.html").read_text().lower()
        assert_clean_eval_consistent(json.loads((out / "report.json").read_text()))

        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
            state = c.get(f"/v1/audits/{audit_id}").json()
            assert state["status"] == "succeeded" and state["progress"] == 1.0
            assert c.get("/v1/health").json()["mode"] == "embedded"
            # cancel a running audit: it stops at a progress tick and stores no stage result
            model_id = c.get("/v1/models").json()[0]["id"]
            # long enough to outlast the DELETE on an idle machine (~a minute if not cancelled)
            ds = c.post("/v1/datasets", files={"file": ("big.tsv", sst_like_tsv(120_000))},
                        data={"model_id": model_id}).json()
            aid = c.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds["id"],
                                             "stages": ["clean_eval"], "eval_examples": 60_000}).json()["id"]
            wait_status(c, aid, ("running",), timeout=60, pred=lambda s: s["progress"] > 0)
            assert c.delete(f"/v1/audits/{aid}").status_code == 202
            final = wait_status(c, aid, ("cancelled", "succeeded", "failed"), timeout=60)
            assert final["status"] == "cancelled", final
        with session_factory(sqlite_url)() as s:
            assert s.scalar(select(func.count()).select_from(StageResult)
                            .where(StageResult.audit_id == aid)) == 0
            assert s.scalar(select(func.count()).select_from(StageResult)
                            .where(StageResult.audit_id == audit_id)) == 1
    finally:
        stop(server)
    assert "Traceback" not in log.read_text()


def test_submit_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    env = base_env(tmp_path, f"sqlite:///{tmp_path / 'x.db'}")
    r = cli(["submit", "--model", str(tmp_path / "missing"), "--data", str(tmp_path / "d.tsv"),
             "--server", "http://127.0.0.1:9", "--key", "k"], env)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "model directory not found" in r.stderr
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    (tmp_path / "d.tsv").write_text("sentence\tlabel\nx\t1\n")
    r = cli(["submit", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "d.tsv"),
             "--server", "http://127.0.0.1:9", "--key", "k"], env)
    assert r.returncode == 2 and "cannot reach" in r.stderr and "Traceback" not in r.stderr
