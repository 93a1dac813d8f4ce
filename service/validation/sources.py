"""A narrow read-only view of a set of files: an archive's members or a directory.

The model validator reads through this interface, so an archive is validated without writing a
byte to disk and the same checks apply to a directory already on disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

from common.hashing import HashMismatch, files_sha256
from service.validation.archive_members import BoundedReader, Member, open_archive
from service.validation.errors import UploadRejected

CHUNK = 1024 * 1024


class FileSource(Protocol):
    """Relative '/'-separated file paths, their sizes and a way to read them."""

    def sizes(self) -> dict[str, int]: ...
    def open(self, path: str) -> AbstractContextManager[BinaryIO]: ...


class ArchiveSource:
    """The checked members of an open zip/tar.gz archive."""

    def __init__(self, path: Path, kind: str, members: list[Member], max_inflated: int | None = None) -> None:
        self.path, self.kind, self.max_inflated = path, kind, max_inflated
        self._members = {m.path: m for m in members}

    def sizes(self) -> dict[str, int]:
        return {p: m.size for p, m in self._members.items()}

    @contextmanager
    def open(self, path: str) -> Iterator[BinaryIO]:
        member = self._members[path]
        with open_archive(self.path, self.kind, self.max_inflated) as handle:
            try:
                raw = handle.open(member.raw_name) if self.kind == "zip" else handle.extractfile(member.raw_name)  # type: ignore[union-attr]
            except (KeyError, OSError, ValueError) as e:
                raise UploadRejected("archive_corrupt", f"member {member.raw_name!r} cannot be read: {e}") from None
            if raw is None:
                raise UploadRejected("archive_corrupt", f"member {member.raw_name!r} has no data")
            with raw:
                yield BoundedReader(raw, member)  # type: ignore[misc]


class DirectorySource:
    """Regular files under a directory (symlinks refused, like archive links)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def sizes(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in sorted(self.root.rglob("*")):
            if p.is_symlink():
                raise UploadRejected("archive_link", f"{p.relative_to(self.root)} is a symbolic link; links are refused")
            if p.is_file():
                out[p.relative_to(self.root).as_posix()] = p.stat().st_size
        return out

    @contextmanager
    def open(self, path: str) -> Iterator[BinaryIO]:
        with open(self.root / path, "rb") as f:
            yield f


def read_all(source: FileSource, path: str, limit: int) -> bytes:
    """The whole file, refusing one larger than ``limit`` bytes."""
    size = source.sizes()[path]
    if size > limit:
        raise UploadRejected("archive_member_too_large", f"{path} is {size} bytes; files of this kind are limited to {limit}")
    with source.open(path) as f:
        data = f.read(size + 1)
    if len(data) != size:
        raise UploadRejected("archive_corrupt", f"{path} holds {len(data)} bytes but declares {size}")
    return data


def content_sha256(source: FileSource) -> str:
    """The model-folder hash (``common.hashing.files_sha256``) of an archive or directory."""
    entries = [(path, size, lambda path=path: source.open(path)) for path, size in source.sizes().items()]
    try:
        return files_sha256(entries)
    except HashMismatch as exc:
        raise UploadRejected("archive_corrupt", str(exc)) from None
