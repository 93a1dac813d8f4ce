"""A small Python client for the attaudit service (used by ``attaudit submit``)."""

from __future__ import annotations

import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from attaudit.cli.errors import UserError

TERMINAL = ("succeeded", "failed", "cancelled")


def zip_model_dir(model_dir: Path, dest: Path) -> Path:
    """Zip the regular files of a saved model directory (no links, no parent paths)."""
    files = [p for p in sorted(model_dir.rglob("*")) if p.is_file() and not p.is_symlink()]
    if not files:
        raise UserError(f"no files in model directory {model_dir}")
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in files:
            zf.write(p, p.relative_to(model_dir).as_posix())
    return dest


class ServiceClient:
    def __init__(self, server: str, key: str, *, timeout: float = 300.0) -> None:
        self.http = httpx.Client(base_url=server.rstrip("/"), timeout=timeout,
                                 headers={"Authorization": f"Bearer {key}"})

    def _check(self, resp: httpx.Response) -> Any:
        if resp.status_code >= 400:
            try:
                err = resp.json()["error"]
                msg = f"{err['code']}: {err['message']}"
            except Exception:  # noqa: BLE001 - not our error body
                msg = resp.text[:200]
            raise UserError(f"server answered {resp.status_code}: {msg}")
        return resp.json() if "json" in resp.headers.get("content-type", "") else resp.content

    def _call(self, method: str, url: str, **kw: Any) -> Any:
        try:
            return self._check(self.http.request(method, url, **kw))
        except httpx.TransportError as exc:
            raise UserError(f"cannot reach {self.http.base_url}: {exc}") from None

    def upload_model(self, model_dir: Path) -> dict:
        with tempfile.TemporaryDirectory() as tmp:
            archive = zip_model_dir(model_dir, Path(tmp) / f"{model_dir.name or 'model'}.zip")
            with open(archive, "rb") as fh:
                return self._call("POST", "/v1/models", files={"file": (archive.name, fh, "application/zip")})

    def upload_dataset(self, path: Path, *, model_id: str | None = None, **columns: str | None) -> dict:
        data = {k: v for k, v in columns.items() if v} | ({"model_id": model_id} if model_id else {})
        with open(path, "rb") as fh:
            return self._call("POST", "/v1/datasets", files={"file": (path.name, fh)}, data=data)

    def start_audit(self, model_id: str, dataset_id: str, **options: Any) -> dict:
        body = {"model_id": model_id, "dataset_id": dataset_id} | {k: v for k, v in options.items() if v is not None}
        return self._call("POST", "/v1/audits", json=body)

    def audit(self, audit_id: str) -> dict:
        return self._call("GET", f"/v1/audits/{audit_id}")

    def wait(self, audit_id: str, *, poll_s: float = 1.0, timeout_s: float | None = None,
             on_update: Callable[[dict], None] | None = None) -> dict:
        t0 = time.monotonic()
        while True:
            state = self.audit(audit_id)
            if on_update:
                on_update(state)
            if state["status"] in TERMINAL:
                return state
            if timeout_s is not None and time.monotonic() - t0 > timeout_s:
                raise UserError(f"audit {audit_id} still {state['status']} after {timeout_s:.0f}s")
            time.sleep(poll_s)

    def download(self, audit_id: str, what: str, dest: Path) -> Path:
        resp = self.http.get(f"/v1/audits/{audit_id}/{what}")
        self._check(resp)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(resp.content)
        return dest
