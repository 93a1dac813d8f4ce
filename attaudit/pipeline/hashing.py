"""Content hashes that key the stage cache (no torch: cheap enough to run before loading)."""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def model_dir_sha256(path: str | Path) -> str:
    """sha256 over a model directory: every regular file's relative name and bytes, sorted.

    Hidden files and sub-directories (caches, checkpoints) are ignored, so the hash names what
    ``from_pretrained`` reads.
    """
    root = Path(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith(".")):
        digest.update(file.name.encode() + b"\0")
        digest.update(file_sha256(file).encode())
    return digest.hexdigest()
