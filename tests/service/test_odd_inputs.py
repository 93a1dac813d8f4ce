"""Odd inputs that used to answer 500 (or be accepted and fail the audit later): each is now a
JSON 4xx with a code and a sentence, and no error body carries a server path."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from tests.service.conftest import Api


def _error(resp, status: int, code: str) -> dict:  # noqa: ANN001
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    err = resp.json()["error"]
    assert err["code"] == code, err
    assert err["message"].endswith(".") and len(err["message"].split()) >= 4, err
    return err


def _no_paths(err: dict, *roots: Path) -> None:
    for root in roots:
        assert str(root) not in err["message"], err


def test_offset_beyond_64_bits(api: Api) -> None:
    h = api.key("acme")
    _error(api.client.get(f"/v1/audits?offset={2**70}", headers=h), 422, "invalid_request")
    _error(api.client.get("/v1/audits?offset=-1", headers=h), 422, "invalid_request")
    assert api.client.get("/v1/audits?offset=1000000", headers=h).status_code == 200


def test_superscript_digit_label(api: Api, tiny_zip: bytes, tmp_path: Path) -> None:
    h = api.key("acme")
    model = api.upload_model(h, tiny_zip).json()
    data = "sentence\tlabel\nthe movie was good\t1\nthe movie was bad\t\u00b2\n".encode()
    err = _error(api.upload_dataset(h, data, model_id=model["id"]), 422, "dataset_label_unknown")
    _no_paths(err, tmp_path)
    assert "\u00b2" in err["message"]


def test_jsonl_duplicate_key(api: Api, tmp_path: Path) -> None:
    h = api.key("acme")
    data = b'{"sentence": "a good film", "label": 0}\n{"sentence": "bad", "label": 0, "label": 1}\n'
    err = _error(api.upload_dataset(h, data, name="d.jsonl"), 400, "dataset_malformed")
    assert "'label' appears twice" in err["message"] and "line 2" in err["message"].lower()
    _no_paths(err, tmp_path)


def test_unexpected_server_error_is_json_without_paths(api: Api, tmp_path: Path) -> None:
    """A real internal failure (the audits table is gone): a JSON 500 with an incident id."""
    h = api.key("acme")
    with api.app.state.sessions() as s:
        s.execute(text("DROP TABLE audits"))
        s.commit()
    client = api.client.__class__(api.app, raise_server_exceptions=False)
    err = _error(client.get("/v1/audits", headers=h), 500, "internal_error")
    assert "incident" in err["message"]
    _no_paths(err, tmp_path)
    assert "sqlite" not in err["message"].lower() and "Traceback" not in err["message"]
