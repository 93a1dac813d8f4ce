"""Tenancy and authentication, generated from the app's route table: a new route is covered
without editing this file (and an id parameter this file cannot fill fails the test).

- every authenticated route answers 401 to a missing, malformed, unknown or revoked key;
- every route with an id in its path or body answers 404 when tenant A names tenant B's object,
  and B's object is untouched afterwards (B itself is answered normally, so the ids are real);
- keys are stored only as sha256 hashes and never appear in any log line or output.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select, update

from infra.db.models import ApiKey, Audit, utcnow
from service.deps import current_tenant
from tests.reliability.conftest import Api
from tests.service.hostile.corpus import model_files, write_zip

DATA = b"sentence,label\na good film,1\na bad film,0\ngreat fun,1\n"
PARAM_KINDS = {"audit_id": "audit", "model_id": "model", "dataset_id": "dataset"}


def _needs_auth(route: APIRoute) -> bool:
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        if dep.call is current_tenant:
            return True
        stack.extend(dep.dependencies)
    return False


def _walk(routes, prefix: str = "") -> list[tuple[str, APIRoute]]:  # noqa: ANN001
    """(full path, route) for every APIRoute, through included routers (FastAPI >= 0.16x wraps them)."""
    out = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append((prefix + route.path, route))
        elif hasattr(route, "original_router"):
            out += _walk(route.original_router.routes, prefix + route.include_context.prefix)
    return out


def _routes(api: Api) -> list[tuple[str, str, APIRoute]]:
    """(method, path, route) for every /v1 route; checked against the OpenAPI paths."""
    walked = [(p, r) for p, r in _walk(api.client.app.routes) if p.startswith("/v1")]
    assert {p for p, _ in walked} == set(api.client.app.openapi()["paths"]), "route walk missed a route"
    return [(m, p, r) for p, r in walked for m in sorted(r.methods)]


def _id_fields(route: APIRoute) -> list[str]:
    """Id-valued parameters in the path, the JSON body or the form."""
    names = [p.name for p in route.dependant.path_params]
    for p in route.dependant.body_params:
        ann = p.field_info.annotation
        fields = getattr(ann, "model_fields", None)
        names += [n for n in (fields or {p.name: None}) if n.endswith("_id")]
    return names


@pytest.fixture(scope="module")
def world(api: Api, tiny_model: Path, tmp_path_factory) -> dict:  # noqa: ANN001
    """Tenants A and B, each with a model, a dataset and a queued audit."""
    tmp = tmp_path_factory.mktemp("tenancy")
    archive = write_zip(tmp / "m.zip", model_files(tiny_model))
    out = {}
    for tenant in ("A", "B"):
        key = api.key(f"tenant-{tenant}")
        h = {"Authorization": f"Bearer {key}"}
        with open(archive, "rb") as fh:
            model = api.client.post("/v1/models", files={"file": ("m.zip", fh)}, headers=h).json()
        ds = api.client.post("/v1/datasets", files={"file": ("d.csv", io.BytesIO(DATA))},
                             data={"model_id": model["id"]}, headers=h).json()
        audit = api.client.post("/v1/audits", json={"model_id": model["id"], "dataset_id": ds["id"]}, headers=h)
        assert audit.status_code == 202, audit.text
        out[tenant] = {"key": key, "headers": h, "model": model["id"], "dataset": ds["id"], "audit": audit.json()["id"]}
    return out


def _request(api: Api, method: str, path: str, route: APIRoute, ids: dict, headers: dict):  # noqa: ANN202
    """Call ``route`` filling every id from ``ids`` (kind -> id)."""
    url = path
    for name in re.findall(r"{(\w+)}", path):
        if name not in PARAM_KINDS:
            pytest.fail(f"route {method} {path}: no rule for path parameter {name!r}; extend PARAM_KINDS")
        url = url.replace("{" + name + "}", ids[PARAM_KINDS[name]])
    kw: dict = {}
    if method == "POST" and path == "/v1/datasets":
        kw = {"files": {"file": ("d.csv", io.BytesIO(DATA))}, "data": {"model_id": ids["model"]}}
    elif method == "POST" and path == "/v1/models":
        kw = {"files": {"file": ("m.zip", io.BytesIO(b"PK\x05\x06" + b"\x00" * 18))}}
    elif method in ("POST", "PUT", "PATCH"):
        kw = {"json": {f: ids[PARAM_KINDS[f]] for f in _id_fields(route) if f in PARAM_KINDS}}
    return api.client.request(method, url, headers=headers, **kw)


def test_every_route_refuses_bad_keys(api: Api, world: dict, reliability) -> None:
    revoked = api.key("tenant-revoked")
    with api.sessions() as s:
        s.execute(update(ApiKey).where(ApiKey.key_hash == hashlib.sha256(revoked.encode()).hexdigest())
                  .values(revoked_at=utcnow()))
        s.commit()
    bad = {
        "missing": {},
        "empty bearer": {"Authorization": "Bearer "},
        "wrong scheme": {"Authorization": f"Basic {world['A']['key']}"},
        "no scheme": {"Authorization": world["A"]["key"]},
        "unknown key": {"Authorization": "Bearer aa_" + "x" * 43},
        "truncated key": {"Authorization": f"Bearer {world['A']['key'][:-1]}"},
        "revoked key": {"Authorization": f"Bearer {revoked}"},
    }
    checked = 0
    routes = [r for r in _routes(api) if _needs_auth(r[2])]
    assert {p for _, p, _ in routes} >= {"/v1/models", "/v1/datasets", "/v1/audits", "/v1/audits/{audit_id}"}
    for method, path, route in routes:
        for label, headers in bad.items():
            resp = _request(api, method, path, route, {k: world["A"][k] for k in ("model", "dataset", "audit")}, headers)
            assert resp.status_code == 401, f"{method} {path} with {label}: {resp.status_code} {resp.text}"
            assert resp.json()["error"]["code"] in ("missing_api_key", "invalid_api_key")
            checked += 1
    public = [f"{m} {p}" for m, p, r in _routes(api) if not _needs_auth(r)]
    assert public == ["GET /v1/health"], f"unauthenticated routes: {public}"
    reliability.figure("tenancy", "authenticated routes", len(routes))
    reliability.figure("tenancy", "bad-key requests answered 401", f"{checked}/{checked} ({len(bad)} kinds of bad key)")


def test_cross_tenant_ids_are_404(api: Api, world: dict, reliability) -> None:
    a, b = world["A"], world["B"]
    checked = 0
    for method, path, route in _routes(api):
        fields = _id_fields(route)
        if not _needs_auth(route) or not any(f in PARAM_KINDS for f in fields):
            continue
        for field in (f for f in fields if f in PARAM_KINDS):
            ids = {k: a[k] for k in ("model", "dataset", "audit")} | {PARAM_KINDS[field]: b[PARAM_KINDS[field]]}
            resp = _request(api, method, path, route, ids, a["headers"])
            assert resp.status_code == 404, f"A -> B's {field} on {method} {path}: {resp.status_code} {resp.text}"
            assert resp.json()["error"]["code"].endswith("_not_found")
            own = _request(api, method, path, route, {k: b[k] for k in ("model", "dataset", "audit")}, b["headers"])
            assert own.status_code != 404 or own.json()["error"]["code"] == "artifact_not_found", f"B on its own {path}: {own.text}"
            reliability.row("tenancy", route=f"{method} {path}", field=field, other_tenant=resp.status_code, owner=own.status_code)
            checked += 1
            if method == "DELETE":  # the owner's call above cancelled it: give B a fresh audit
                with api.sessions() as s:
                    s.execute(update(Audit).where(Audit.id == b["audit"]).values(status="queued", cancel_requested=False, finished_at=None))
                    s.commit()
    with api.sessions() as s:
        audit = s.get(Audit, b["audit"])
        assert audit.status == "queued" and not audit.cancel_requested  # A's DELETE did nothing
    listed = api.client.get("/v1/audits", headers=a["headers"]).json()["items"]
    assert {x["id"] for x in listed} == {a["audit"]}
    for kind in ("models", "datasets"):
        assert {x["id"] for x in api.client.get(f"/v1/{kind}", headers=a["headers"]).json()} == {a[kind[:-1]]}
    assert checked >= 8
    reliability.figure("tenancy", "cross-tenant requests answered 404", f"{checked}/{checked}")


def test_keys_are_hashed_and_never_logged(api: Api, tiny_model: Path, caplog, capfd, reliability) -> None:
    caplog.set_level(logging.DEBUG)
    key = api.key("tenant-logcheck")
    h = {"Authorization": f"Bearer {key}"}
    for method, path, route in _routes(api):
        _request(api, method, path, route, {"model": "m", "dataset": "d", "audit": "a"}, h)
    with api.sessions() as s:
        rows = s.execute(select(ApiKey)).scalars().all()
        stored = " ".join(f"{r.key_hash} {r.prefix} {r.id}" for r in rows)
        assert hashlib.sha256(key.encode()).hexdigest() in stored
    assert key not in stored and key[10:] not in stored  # only the non-secret prefix is kept
    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    assert key not in logged and key[10:] not in logged
    reliability.figure("tenancy", "keys in the database", "sha256 hashes + 10-char prefix only")
    reliability.figure("tenancy", "log records captured with the key in use", f"{len(caplog.records)} records, key found 0 times")
