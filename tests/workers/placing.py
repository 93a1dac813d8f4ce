"""Put a saved model straight into a tenant's storage and the ``models`` table, bypassing the
upload validator: how a model that got past (or predates) an upload check reaches a worker."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from infra.db.models import ModelRow


def place_model(sessions, store, tenant_id: str, model_dir: Path) -> str:  # noqa: ANN001
    """Copy ``model_dir`` into ``tenant_id``'s store and add its row; returns the model id."""
    from common.hashing import model_dir_sha256

    tenant_store = store.for_tenant(tenant_id)
    scratch = tenant_store.scratch_dir() / "model"
    shutil.copytree(model_dir, scratch)
    sha = tenant_store.put_tree(scratch, sha=model_dir_sha256(scratch))
    cfg = json.loads((model_dir / "config.json").read_text())
    n = len(cfg.get("id2label") or {}) or int(cfg.get("num_labels", 2))
    labels = [(cfg.get("id2label") or {}).get(str(i), f"LABEL_{i}") for i in range(n)]
    with sessions() as s:
        row = ModelRow(tenant_id=tenant_id, sha256=sha, architecture=cfg.get("model_type", "bert"),
                       labels=labels, num_parameters=0, num_layers=cfg["num_hidden_layers"],
                       num_heads=cfg["num_attention_heads"], filename=model_dir.name)
        s.add(row)
        s.commit()
        return row.id
