"""Content-addressed artifact store (local directory; the interface is narrow so S3 can follow).

Blobs live at ``blobs/<sha[:2]>/<sha>``; directory trees (an unpacked model) at
``trees/<sha>/`` named by ``common.hashing.model_dir_sha256`` (the one model-folder hash), so
the same model zipped twice (different timestamps) hashes the same.

Every tenant has its own namespace (``for_tenant``: ``tenants/<tenant id>/``): content is
de-duplicated within a tenant only, so whether an upload is new takes the same time and gets the
same answer whatever other tenants stored. Inside a namespace a blob or tree may back several
rows (one file mapped twice is two datasets); ``delete_*`` are called only when no row of the
tenant references the object any more (the routers count the references).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from common.hashing import file_sha256, model_dir_sha256


class ArtifactStore:
    """put/get by sha256. Writes go to a temp name and are renamed into place (atomic)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)

    # -- scratch space on the same filesystem, so the final rename is atomic
    def scratch_dir(self) -> Path:
        return Path(tempfile.mkdtemp(dir=self.root / "tmp"))

    # -- blobs
    def blob_path(self, sha: str) -> Path:
        return self.root / "blobs" / sha[:2] / sha

    def put_file(self, src: Path) -> str:
        """Copy ``src`` in; returns its sha256. Existing content is left untouched."""
        sha = file_sha256(src)
        dst = self.blob_path(sha)
        if not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root / "tmp")
            os.close(fd)
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
        return sha

    def has_blob(self, sha: str) -> bool:
        return self.blob_path(sha).is_file()

    # -- trees
    @property
    def trees_root(self) -> Path:
        return self.root / "trees"

    def tree_path(self, sha: str) -> Path:
        return self.trees_root / sha

    def put_tree(self, src: Path, sha: str | None = None) -> str:
        """Move the directory ``src`` (on this store's filesystem) in; returns its hash.

        ``sha`` lets a caller that already hashed the tree (the upload validator) name it.
        """
        sha = sha or model_dir_sha256(src)
        dst = self.tree_path(sha)
        if dst.exists():
            shutil.rmtree(src, ignore_errors=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(src, dst)
            except OSError:  # a concurrent upload of the same tree won the rename
                shutil.rmtree(src, ignore_errors=True)
        return sha

    def has_tree(self, sha: str) -> bool:
        return self.tree_path(sha).is_dir()

    # -- tenant namespaces and deletion
    def for_tenant(self, tenant_id: str) -> ArtifactStore:
        """The tenant's own store under ``tenants/<id>/`` (ids are 32 hex digits)."""
        if not re.fullmatch(r"[0-9a-f]{32}", tenant_id):
            raise ValueError(f"not a tenant id: {tenant_id!r}")
        return ArtifactStore(self.root / "tenants" / tenant_id)

    def delete_blob(self, sha: str) -> bool:
        """Remove a blob; True if it existed."""
        try:
            self.blob_path(sha).unlink()
            return True
        except FileNotFoundError:
            return False

    def delete_tree(self, sha: str) -> bool:
        """Remove a tree (renamed aside first, so a reader never sees half of it)."""
        path = self.tree_path(sha)
        if not path.is_dir():
            return False
        aside = Path(tempfile.mkdtemp(dir=self.root / "tmp")) / "tree"
        os.replace(path, aside)
        shutil.rmtree(aside.parent, ignore_errors=True)
        return True

    def delete_work_dir(self, audit_id: str) -> bool:
        path = self.root / "work" / audit_id
        if not path.is_dir():
            return False
        shutil.rmtree(path, ignore_errors=True)
        return True

    def work_dir_ids(self) -> list[str]:
        """Audit ids that have a work directory in this namespace (nothing is created)."""
        d = self.root / "work"
        return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []

    def tenant_stores(self) -> list[ArtifactStore]:
        """Every tenant namespace that exists under this root."""
        d = self.root / "tenants"
        return [ArtifactStore(p) for p in sorted(d.iterdir()) if p.is_dir()] if d.is_dir() else []

    # -- per-audit working directories (pipeline cache between stage tasks)
    def work_dir(self, audit_id: str) -> Path:
        d = self.root / "work" / audit_id
        d.mkdir(parents=True, exist_ok=True)
        return d

    def count_objects(self) -> int:
        """Blobs plus trees here and in every tenant namespace (tests use it to prove a refused
        upload stored nothing)."""
        n = 0
        for sub in ("blobs", "trees"):
            d = self.root / sub
            if d.is_dir():
                n += sum(1 for p in d.rglob("*") if p.is_file() or p.parent.name == "trees")
        return n + sum(t.count_objects() for t in self.tenant_stores())
