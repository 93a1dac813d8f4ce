"""Read the member table of a .zip or .tar.gz without extracting, and check every entry.

All checks run on metadata first (names, types, declared sizes, counts, ratio); only then can a
member be opened, through a reader that stops at the declared size so a lying header cannot
make us decompress more than was checked.
"""

from __future__ import annotations

import gzip
import io
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from service.validation.deadline import check_deadline
from service.validation.errors import UploadRejected
from service.validation.limits import UploadLimits

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Member:
    """One regular file of the archive: normalised path, original name, declared size."""

    path: str            # normalised, relative, '/'-separated, common top directory removed
    raw_name: str
    size: int
    compressed: int      # compressed size (zip) or ``size`` (tar: no per-member figure)


def archive_kind(path: Path) -> str:
    """``"zip"`` or ``"tar.gz"`` from the magic bytes (never from the file name)."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head in ZIP_MAGIC:
        return "zip"
    if head[:2] == GZIP_MAGIC:
        return "tar.gz"
    raise UploadRejected("archive_format", "the upload is neither a zip nor a gzip-compressed tar archive (checked by its first bytes)")


def normalise_name(raw: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    """Split a member name into safe parts, refusing absolute paths and '..'."""
    if not raw or "\x00" in raw:
        raise UploadRejected("archive_bad_name", f"member name {raw!r} is empty or contains a NUL byte")
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UploadRejected("archive_absolute_path", f"member {raw!r} has an absolute path; archive members must be relative")
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if ".." in parts:
        raise UploadRejected("archive_path_traversal", f"member {raw!r} contains '..' and would be written outside the model directory")
    if not parts and not allow_empty:
        raise UploadRejected("archive_bad_name", f"member name {raw!r} names no file")
    return tuple(parts)


def _zip_entries(zf: zipfile.ZipFile) -> Iterator[tuple[str, str, int, int]]:
    """(raw name, kind, size, compressed) with kind in file/dir/link/special."""
    for info in zf.infolist():
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            kind = "link"
        elif info.is_dir() or stat.S_ISDIR(mode):
            kind = "dir"
        elif mode and not stat.S_ISREG(mode) and stat.S_IFMT(mode):
            kind = "special"
        else:
            kind = "file"
        yield info.filename, kind, info.file_size, info.compress_size


def _tar_entries(tf: tarfile.TarFile, limits: UploadLimits) -> Iterator[tuple[str, str, int, int]]:
    count = 0
    while True:
        check_deadline()
        try:
            info = tf.next()
        except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
            raise UploadRejected("archive_corrupt", f"the tar stream cannot be read: {e}") from None
        if info is None:
            return
        count += 1
        if count > limits.max_members:  # stop reading: a tar bomb never gets fully listed
            raise UploadRejected("archive_too_many_members", f"the archive has more than {limits.max_members} members; a model directory needs far fewer")
        if info.issym() or info.islnk():
            kind = "link"
        elif info.isdir():
            kind = "dir"
        elif info.isreg():
            kind = "file"
        else:
            kind = "special"
        yield info.name, kind, info.size, info.size


def _strip_common_top(paths: list[tuple[str, ...]]) -> int:
    """How many leading directories every file shares (``model/config.json`` -> 1)."""
    depth = 0
    while paths and all(len(p) > depth + 1 for p in paths) and len({p[depth] for p in paths}) == 1:
        depth += 1
    return depth


def _check_entry(raw: str, what: str, size: int, compressed: int, kind: str, limits: UploadLimits) -> None:
    """Refusals that one entry's header decides on its own (before its data is read)."""
    if what == "link":
        raise UploadRejected("archive_link", f"member {raw!r} is a link; links could point outside the model directory and are refused")
    if what == "special":
        raise UploadRejected("archive_special_file", f"member {raw!r} is a device file, FIFO or socket; only regular files are accepted")
    if what != "file":
        return
    if size > limits.max_member_bytes:
        raise UploadRejected("archive_member_too_large", f"member {raw!r} is {size} bytes uncompressed; the per-file limit is {limits.max_member_bytes}")
    if kind == "zip" and size >= limits.ratio_floor_bytes and size > limits.max_compression_ratio * max(compressed, 1):
        raise UploadRejected("archive_bomb", f"member {raw!r} expands {size / max(compressed, 1):.0f}x; above {limits.max_compression_ratio:.0f}x is treated as a decompression bomb")


def _check_total(total: int, archive_bytes: int, limits: UploadLimits) -> None:
    if total > limits.max_total_bytes:
        raise UploadRejected("archive_too_large", f"the archive expands to more than {limits.max_total_bytes} bytes (at least {total}); that is the limit")
    if total >= limits.ratio_floor_bytes and total > limits.max_compression_ratio * max(archive_bytes, 1):
        raise UploadRejected("archive_bomb", f"the archive expands at least {total / max(archive_bytes, 1):.0f}x ({archive_bytes} -> {total}+ bytes); above {limits.max_compression_ratio:.0f}x is treated as a decompression bomb")


def check_members(path: Path, kind: str, limits: UploadLimits) -> list[Member]:
    """Every metadata check; returns the regular files with normalised paths.

    Checks run entry by entry while the table is read and the listing stops at the first entry
    over a limit: a tar.gz has no central directory, so listing it means decompressing every
    member before the next header, and a bomb must be refused before its data is inflated.
    The running total is therefore bounded by ``max_compression_ratio`` x the upload size.
    """
    archive_bytes = path.stat().st_size
    if archive_bytes > limits.max_upload_bytes:
        raise UploadRejected("upload_too_large", f"the upload is {archive_bytes} bytes; the limit is {limits.max_upload_bytes}")
    files: list[tuple[tuple[str, ...], str, int, int]] = []
    total = 0
    with open_archive(path, kind, inflate_cap(archive_bytes, limits)) as handle:
        if kind == "zip":
            if len(handle.infolist()) > limits.max_members:
                raise UploadRejected("archive_too_many_members", f"the archive has {len(handle.infolist())} members; the limit is {limits.max_members}")
            entries = _zip_entries(handle)
        else:
            entries = _tar_entries(handle, limits)
        for raw, what, size, compressed in entries:
            parts = normalise_name(raw, allow_empty=what == "dir")  # tar's "./" entry
            _check_entry(raw, what, size, compressed, kind, limits)
            if what != "file":
                continue
            total += size
            _check_total(total, archive_bytes, limits)
            files.append((parts, raw, size, compressed))
    depth = _strip_common_top([p for p, *_ in files])
    members: list[Member] = []
    seen: set[str] = set()
    for parts, raw, size, compressed in files:
        rel = "/".join(parts[depth:])
        if rel in seen:
            raise UploadRejected("archive_duplicate_member", f"member {raw!r} appears twice; a later copy could silently replace a checked one")
        seen.add(rel)
        members.append(Member(rel, raw, size, compressed))
    return sorted(members, key=lambda m: m.path)


def inflate_cap(archive_bytes: int, limits: UploadLimits) -> int:
    """Most bytes a tar.gz may inflate to: what the size and ratio checks allow, plus headers."""
    allowed = max(min(limits.max_total_bytes, int(limits.max_compression_ratio * archive_bytes)),
                  limits.ratio_floor_bytes)
    return allowed + (limits.max_members + 2) * 3 * 512 + (1 << 20)


class _CappedStream(io.RawIOBase):
    """A gzip stream that refuses to inflate past ``cap`` bytes.

    ``tarfile`` reads GNU long names and pax headers into memory whole and skips members by
    seeking (which inflates); this bound covers them too, not only the member data.
    """

    def __init__(self, raw: gzip.GzipFile, cap: int) -> None:
        super().__init__()
        self._raw, self._cap = raw, cap

    def _check(self, end: int) -> None:
        check_deadline()
        if end > self._cap:
            raise UploadRejected("archive_bomb", f"the tar stream inflates past {self._cap} bytes; above the size and ratio limits is treated as a decompression bomb")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        pos = self._raw.tell()
        self._check(pos + (n if n is not None and n >= 0 else self._cap + 1 - pos))
        return self._raw.read(n)

    def readinto(self, b) -> int:  # noqa: ANN001
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        target = offset if whence == 0 else self._raw.tell() + offset if whence == 1 else None
        if target is None:
            raise io.UnsupportedOperation("seek from the end of a gzip stream")
        self._check(target)
        return self._raw.seek(target)

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()
        super().close()


@contextmanager
def open_archive(path: Path, kind: str, max_inflated: int | None = None) -> Iterator[zipfile.ZipFile | tarfile.TarFile]:
    """Open for reading, mapping library errors to ``archive_corrupt``.

    A tar.gz is read through ``_CappedStream`` when ``max_inflated`` is given.
    """
    try:
        if kind == "zip":
            handle: zipfile.ZipFile | tarfile.TarFile = zipfile.ZipFile(path)
        elif max_inflated is None:
            handle = tarfile.open(path, mode="r:gz")
        else:
            stream = _CappedStream(gzip.GzipFile(path, "rb"), max_inflated)
            handle = tarfile.open(fileobj=stream, mode="r:")  # type: ignore[arg-type]
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as e:
        raise UploadRejected("archive_corrupt", f"the archive cannot be opened: {e}") from None
    try:
        yield handle
    finally:
        handle.close()
        if kind != "zip" and max_inflated is not None:
            stream.close()


class BoundedReader:
    """File-like view of a member that refuses to yield more than its declared size."""

    def __init__(self, raw: BinaryIO, member: Member) -> None:
        self._raw, self._member, self._read = raw, member, 0

    def read(self, n: int = -1) -> bytes:
        check_deadline()
        want = self._member.size - self._read + 1 if n < 0 else n
        try:
            chunk = self._raw.read(want)
        except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, ValueError, zlib.error) as e:
            raise UploadRejected("archive_corrupt", f"member {self._member.raw_name!r} cannot be decompressed: {e}") from None
        self._read += len(chunk)
        if self._read > self._member.size:
            raise UploadRejected("archive_bomb", f"member {self._member.raw_name!r} decompresses to more than its declared {self._member.size} bytes")
        return chunk
