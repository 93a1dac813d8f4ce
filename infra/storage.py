"""Content-addressed artifact store (local directory; the interface is narrow so S3 can follow).

Blobs live at ``blobs/<sha[:2]>/<sha>``; directory trees (an unpacked model) at
``trees/<sha>/`` named by ``common.hashing.model_dir_sha256`` (the one model-folder hash), so
the same model zipped twice (different timestamps) hashes the same.
"""

from __future__ import annotations

import os
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

    # -- per-audit working directories (pipeline cache between stage tasks)
    def work_dir(self, audit_id: str) -> Path:
        d = self.root / "work" / audit_id
        d.mkdir(parents=True, exist_ok=True)
        return d

    def count_objects(self) -> int:
        """Number of blobs plus trees (tests use it to prove a refused upload stored nothing)."""
        n = 0
        for sub in ("blobs", "trees"):
            d = self.root / sub
            if d.is_dir():
                n += sum(1 for p in d.rglob("*") if p.is_file() or p.parent.name == "trees")
        return n
