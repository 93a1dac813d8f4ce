"""The content hashes of attaudit: ONE file hash and ONE model-folder hash, used everywhere.

The API names an uploaded model by ``files_sha256`` over the archive's members (before a byte
is extracted), the artifact store names the unpacked tree by ``model_dir_sha256``, the loader
stamps ``LoadedClassifier.sha256`` with it, the pipeline keys its stage cache with it and the
trigger file's provenance carries it: the same model gives the same sha256 everywhere.

Definition (model folder): sha256 over, for each regular file sorted by its relative '/'-path,
``path NUL size(8 bytes, little-endian) bytes``. Paths with a component starting with ``.``
(``.git``, ``.cache``, ``.DS_Store``) are not part of the model and are left out. No torch here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20


class HashMismatch(ValueError):
    """A file held a different number of bytes than declared while it was hashed."""


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def bytes_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_model_path(rel: str) -> bool:
    """True for a relative '/'-path that belongs to a model folder's content (no hidden parts)."""
    return bool(rel) and not any(part.startswith(".") for part in rel.split("/"))


def files_sha256(entries: Iterable[tuple[str, int, Callable[[], BinaryIO]]]) -> str:
    """The model-folder hash over ``(relative path, size, opener)`` entries (any order).

    The opener returns a binary file object (a context manager); archives and directories both
    provide one, so an archive is hashed without extracting it. Raises ``HashMismatch`` when a
    file yields a different number of bytes than its declared size.
    """
    digest = hashlib.sha256()
    for rel, size, opener in sorted((e for e in entries if is_model_path(e[0])), key=lambda e: e[0]):
        digest.update(rel.encode() + b"\x00" + int(size).to_bytes(8, "little"))
        seen = 0
        with opener() as fh:
            while chunk := fh.read(CHUNK):
                seen += len(chunk)
                digest.update(chunk)
        if seen != size:
            raise HashMismatch(f"{rel} holds {seen} bytes but declares {size}")
    return digest.hexdigest()


def model_dir_entries(root: str | Path) -> list[tuple[str, int, Callable[[], BinaryIO]]]:
    """The hashed entries of a folder: its regular files (recursively), symlinks not followed."""
    root = Path(root)
    out = []
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink():
            rel = p.relative_to(root).as_posix()
            out.append((rel, p.stat().st_size, lambda p=p: open(p, "rb")))
    return out


def model_dir_sha256(root: str | Path) -> str:
    """The model-folder hash of a directory on disk (see the module docstring)."""
    return files_sha256(model_dir_entries(root))
