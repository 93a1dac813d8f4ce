"""REST API behaviour against a real SQLite database: auth, tenancy, audits, limits, errors."""

from __future__ import annotations

from pathlib import Path

from tests.service.conftest import Api, make_settings


def _setup(api: Api, tiny_zip: bytes, tsv: bytes, tenant: str = "acme") -> tuple[dict, str, str]:
    h = api.key(tenant)
    model = api.upload_model(h, tiny_zip)
    assert model.status_code == 201, model.text
    ds = api.upload_dataset(h, tsv, model_id=model.json()["id"])
    assert ds.status_code == 201, ds.text
    return h, model.json()["id"], ds.json()["id"]


def test_auth_errors_are_machine_readable(api: Api) -> None:
    r = api.client.get("/v1/audits")
    assert r.status_code == 401 and r.json()["error"]["code"] == "missing_api_key"
    r = api.client.get("/v1/audits", headers={"Authorization": "Bearer aa_nope"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert r.json()["error"]["message"].endswith(".")


def test_model_upload_is_content_addressed(api: Api, tiny_zip: bytes, tiny_bert_dir: Path) -> None:
    h = api.key("acme")
    first = api.upload_model(h, tiny_zip)
    assert first.status_code == 201
    body = first.json()
    assert body["architecture"] == "bert" and body["labels"] == ["LABEL_0", "LABEL_1"]
    assert body["num_layers"] == 2 and body["num_heads"] == 2
    # a re-upload (even re-zipped with other compression) is the same object
    from tests.service.conftest import zip_dir

    again = api.upload_model(h, zip_dir(tiny_bert_dir), name="again.zip")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert len(list(api.settings.storage_path.glob("tenants/*/trees/*"))) == 1  # one tree, in acme's namespace


def test_dataset_upload_counts_labels(api: Api, tiny_zip: bytes, tsv_bytes: bytes) -> None:
    h, _, ds_id = _setup(api, tiny_zip, tsv_bytes)
    ds = api.client.get(f"/v1/datasets/{ds_id}", headers=h).json()
    assert ds["rows"] == 48 and ds["label_counts"] == {"LABEL_0": 24, "LABEL_1": 24}
    assert ds["text_column"] == "sentence" and ds["label_column"] == "label"


def test_tenants_cannot_see_each_other(api: Api, tiny_zip: bytes, tsv_bytes: bytes) -> None:
    ha, model_id, ds_id = _setup(api, tiny_zip, tsv_bytes, "alpha")
    audit = api.client.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id}, headers=ha)
    assert audit.status_code == 202 and audit.json()["status"] == "queued"
    aid = audit.json()["id"]
    hb = api.key("beta")
    for path in (f"/v1/models/{model_id}", f"/v1/datasets/{ds_id}", f"/v1/audits/{aid}",
                 f"/v1/audits/{aid}/results", f"/v1/audits/{aid}/report",
                 f"/v1/audits/{aid}/triggers", f"/v1/audits/{aid}/recipe", f"/v1/audits/{aid}/tensors"):
        r = api.client.get(path, headers=hb)
        assert r.status_code == 404, path
        assert r.json()["error"]["code"].endswith("_not_found")
    assert api.client.delete(f"/v1/audits/{aid}", headers=hb).status_code == 404
    r = api.client.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id}, headers=hb)
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    assert api.client.get("/v1/audits", headers=hb).json()["total"] == 0
    assert api.client.get("/v1/models", headers=hb).json() == []
    assert api.client.get("/v1/audits", headers=ha).json()["total"] == 1
    # the same model uploaded by beta is beta's own object (same content, different id)
    mb = api.upload_model(hb, tiny_zip)
    assert mb.status_code == 201 and mb.json()["id"] != model_id
    assert mb.json()["sha256"] == api.client.get(f"/v1/models/{model_id}", headers=ha).json()["sha256"]


def test_audit_options_validated_by_pipeline_config(api: Api, tiny_zip: bytes, tsv_bytes: bytes) -> None:
    h, model_id, ds_id = _setup(api, tiny_zip, tsv_bytes)
    r = api.client.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id,
                                            "stages": ["attribution", "nonsense"]}, headers=h)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "invalid_request" and "valid stages: clean_eval" in err["message"]
    # every named choice is checked at the boundary (it used to fail later, in the worker)
    r = api.client.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id,
                                            "explainers": ["attention", "bogus"]}, headers=h)
    assert r.status_code == 422
    assert "'bogus'" in r.json()["error"]["message"] and "integrated_gradients" in r.json()["error"]["message"]
    r = api.client.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id,
                                            "text_column": "x"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_audit_config"
    r = api.client.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id, "bogus": 1},
                        headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    r = api.client.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id,
                                            "stages": ["attribution", "clean_eval"], "examples": 3},
                        headers=h)
    assert r.status_code == 202
    body = r.json()
    assert body["stages"] == ["clean_eval", "attribution"]  # canonical order
    assert body["config"]["examples"] == 3 and body["config"]["text_column"] == "sentence"


def test_cancel_queued_and_results_before_done(api: Api, tiny_zip: bytes, tsv_bytes: bytes) -> None:
    h, model_id, ds_id = _setup(api, tiny_zip, tsv_bytes)
    aid = api.client.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id},
                          headers=h).json()["id"]
    r = api.client.get(f"/v1/audits/{aid}/results", headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "audit_not_finished"
    r = api.client.delete(f"/v1/audits/{aid}", headers=h)
    assert r.status_code == 202 and r.json()["status"] == "cancelled"
    assert r.json()["finished_at"] is not None
    r = api.client.delete(f"/v1/audits/{aid}", headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "audit_finished"


def test_pagination_and_status_filter(api: Api, tiny_zip: bytes, tsv_bytes: bytes) -> None:
    h, model_id, ds_id = _setup(api, tiny_zip, tsv_bytes)
    ids = [api.client.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id},
                           headers=h).json()["id"] for _ in range(3)]
    api.client.delete(f"/v1/audits/{ids[0]}", headers=h)
    page1 = api.client.get("/v1/audits?limit=2", headers=h).json()
    page2 = api.client.get("/v1/audits?limit=2&offset=2", headers=h).json()
    assert page1["total"] == 3 and len(page1["items"]) == 2 and len(page2["items"]) == 1
    assert {a["id"] for a in page1["items"] + page2["items"]} == set(ids)
    cancelled = api.client.get("/v1/audits?status=cancelled", headers=h).json()
    assert [a["id"] for a in cancelled["items"]] == [ids[0]]
    r = api.client.get("/v1/audits?limit=1000", headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"


def test_concurrent_audit_limit_per_tenant(tmp_path: Path, sqlite_url: str, tiny_zip: bytes,
                                           tsv_bytes: bytes) -> None:
    api = Api(make_settings(tmp_path, sqlite_url, max_concurrent_audits=2))
    h, model_id, ds_id = _setup(api, tiny_zip, tsv_bytes)
    body = {"model_id": model_id, "dataset_id": ds_id}
    first = api.client.post("/v1/audits", json=body, headers=h).json()["id"]
    assert api.client.post("/v1/audits", json=body, headers=h).status_code == 202
    r = api.client.post("/v1/audits", json=body, headers=h)
    assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_audits"
    # another tenant has its own budget
    h2, m2, d2 = _setup(api, tiny_zip, tsv_bytes, "other")
    assert api.client.post("/v1/audits", json={"model_id": m2, "dataset_id": d2}, headers=h2).status_code == 202
    api.client.delete(f"/v1/audits/{first}", headers=h)
    assert api.client.post("/v1/audits", json=body, headers=h).status_code == 202


def test_rate_limit_per_key(tmp_path: Path, sqlite_url: str) -> None:
    api = Api(make_settings(tmp_path, sqlite_url, rate_limit_per_minute=5))
    h1, h2 = api.key("acme"), api.key("acme")
    codes = [api.client.get("/v1/audits", headers=h1).status_code for _ in range(7)]
    assert codes == [200] * 5 + [429] * 2
    r = api.client.get("/v1/audits", headers=h1)
    assert r.json()["error"]["code"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
    assert api.client.get("/v1/audits", headers=h2).status_code == 200  # per key, not per tenant


def test_health_and_openapi(api: Api) -> None:
    from workers import liveness
    from workers.context import WorkerContext

    r = api.client.get("/v1/health")
    assert r.status_code == 503  # no worker has sent a heartbeat: queued audits would never run
    assert r.json()["status"] == "degraded" and r.json()["workers"]["alive"] == 0
    liveness.beat(WorkerContext.from_settings(api.settings), "embedded", name="test:1")
    r = api.client.get("/v1/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "database": True, "broker": None, "mode": "embedded",
                        "workers": {"alive": 1, "last_heartbeat": r.json()["workers"]["last_heartbeat"],
                                    "queue_depth": 0, "running": 0}, "detail": None}
    paths = api.client.get("/openapi.json").json()["paths"]
    for p in ("/v1/models", "/v1/datasets", "/v1/audits", "/v1/audits/{audit_id}",
              "/v1/audits/{audit_id}/results", "/v1/audits/{audit_id}/report",
              "/v1/audits/{audit_id}/triggers", "/v1/audits/{audit_id}/recipe",
              "/v1/audits/{audit_id}/tensors", "/v1/health"):
        assert p in paths, p


def test_health_reports_unreachable_broker(tmp_path: Path, sqlite_url: str) -> None:
    api = Api(make_settings(tmp_path, sqlite_url).model_copy(
        update={"broker_url": "redis://127.0.0.1:1/0"}))
    r = api.client.get("/v1/health")
    assert r.status_code == 503
    assert r.json()["broker"] is False and r.json()["database"] is True


def test_server_side_evidence_options_are_refused(api: Api, tiny_zip: bytes, tsv_bytes: bytes) -> None:
    """A reference file or a model/NLI judge names a path on the server: the API refuses them."""
    h, model_id, ds_id = _setup(api, tiny_zip, tsv_bytes)
    for extra, word in [({"reference_data": "/etc/passwd"}, "reference_data"),
                        ({"judges": [{"name": "model", "model": "/srv/m"}]}, "model judge"),
                        ({"judges": ["/tmp/judge.json"]}, "not 'auto', 'vader'"),
                        ({"judges": [{"name": "oracle"}]}, "valid judges: lexicon, model, nli")]:
        r = api.client.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id, **extra}, headers=h)
        assert r.status_code == 422 and word in r.json()["error"]["message"], (extra, r.text)
    r = api.client.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id, "judges": [
        "vader", {"name": "lexicon", "words": {"LABEL_0": ["bad"]}}]}, headers=h)
    assert r.status_code == 202 and r.json()["verdict"] is None
