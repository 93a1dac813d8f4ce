"""Validate an uploaded model archive (.zip / .tar.gz) and store it safely, content-addressed.

``validate_model_archive`` reads the archive without writing anything. ``store_model_archive``
validates first, then extracts into a fresh ``.incoming-*`` directory inside the destination
(same filesystem), re-hashes what was written, and renames it to ``<dest>/<sha256>`` in one
atomic step. On any refusal or error the temporary directory is removed: nothing is left.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from service.validation.archive_members import archive_kind, check_members, inflate_cap
from service.validation.deadline import deadline
from service.validation.errors import UploadRejected
from service.validation.limits import DEFAULT_LIMITS, UploadLimits
from service.validation.model_files import ModelManifest, validate_model_files
from service.validation.sources import CHUNK, ArchiveSource, DirectorySource, content_sha256
from service.validation.tokenizer_probe import probe_tokenizer


@dataclass(frozen=True)
class StoredModel:
    manifest: ModelManifest
    directory: Path      # <dest>/<sha256>
    created: bool        # False when the same content was already stored


def _open_source(path: Path, limits: UploadLimits) -> ArchiveSource:
    kind = archive_kind(path)
    return ArchiveSource(path, kind, check_members(path, kind, limits),
                         inflate_cap(path.stat().st_size, limits) if kind == "tar.gz" else None)


def validate_model_archive(path: str | Path, limits: UploadLimits = DEFAULT_LIMITS) -> ModelManifest:
    """Every archive and model check, without extracting; raises ``UploadRejected``.

    The tokenizer is not loaded (that needs the files on disk: ``store_model_archive``)."""
    with deadline(limits.max_validation_seconds):
        return validate_model_files(_open_source(Path(path), limits), limits)


def _probe(directory: Path, limits: UploadLimits) -> None:
    if limits.tokenizer_probe_seconds > 0:
        probe_tokenizer(directory, timeout=limits.tokenizer_probe_seconds,
                        memory_bytes=limits.tokenizer_probe_memory_bytes)


def validate_model_directory(path: str | Path, limits: UploadLimits = DEFAULT_LIMITS) -> ModelManifest:
    """The same model checks for a directory already on disk, tokenizer load included."""
    with deadline(limits.max_validation_seconds):
        manifest = validate_model_files(DirectorySource(Path(path)), limits)
    _probe(Path(path), limits)
    return manifest


def _extract(source: ArchiveSource, tmp: Path) -> None:
    root = tmp.resolve()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for rel in source.sizes():
        dest = (root / rel).resolve()
        if root not in dest.parents:  # defence in depth; names were already normalised
            raise UploadRejected("archive_path_traversal", f"{rel} resolves outside the extraction directory")
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(dest, flags, 0o644)
        with os.fdopen(fd, "wb") as out, source.open(rel) as src:
            while chunk := src.read(CHUNK):
                out.write(chunk)


def store_model_archive(path: str | Path, dest: str | Path, limits: UploadLimits = DEFAULT_LIMITS) -> StoredModel:
    """Validate, extract to ``dest/.incoming-*``, verify, load the tokenizer in a child process,
    and atomically rename to ``dest/<sha256>``."""
    with deadline(limits.max_validation_seconds):
        return _store_model_archive(Path(path), Path(dest), limits)


def _store_model_archive(path: Path, dest: Path, limits: UploadLimits) -> StoredModel:
    source = _open_source(path, limits)
    manifest = validate_model_files(source, limits)
    created_dest = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / manifest.sha256
    if final.is_dir():
        return StoredModel(manifest, final, created=False)
    tmp = Path(tempfile.mkdtemp(prefix=".incoming-", dir=dest))
    try:
        _extract(source, tmp)
        written = content_sha256(DirectorySource(tmp))
        if written != manifest.sha256:
            raise UploadRejected("archive_corrupt", "the extracted files differ from the validated archive")
        _probe(tmp, limits)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():
                raise
            return StoredModel(manifest, final, created=False)  # a concurrent upload won the race
        return StoredModel(manifest, final, created=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if created_dest and not final.exists():
            try:  # a refused first upload leaves no empty store directory behind
                dest.rmdir()
            except OSError:
                pass

