"""Receiving an upload: stream it to scratch space with a size cap, then validate.

The validators themselves live in ``service.validation`` (one function per upload kind).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import Request, UploadFile

from infra.settings import Settings
from service.errors import APIError
from service.validation import UploadLimits

_CHUNK = 1 << 20


def check_declared_size(request: Request, settings: Settings) -> None:
    """Refuse early when the client declares a body larger than the limit."""
    declared = request.headers.get("content-length")
    limit = int(settings.max_upload_mb * 1024 * 1024)
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise APIError(413, "upload_too_large",
                       f"The upload is {int(declared)} bytes; the limit is {limit} bytes.")


async def save_upload(file: UploadFile, dest: Path, settings: Settings) -> int:
    """Copy the multipart file to ``dest``; refuse (413) past ``max_upload_mb``."""
    limit = int(settings.max_upload_mb * 1024 * 1024)
    size = 0
    with open(dest, "wb") as out:
        while chunk := await file.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                out.close()
                dest.unlink(missing_ok=True)
                raise APIError(413, "upload_too_large",
                               f"The upload exceeds the limit of {limit} bytes.")
            out.write(chunk)
    if size == 0:
        raise APIError(400, "empty_upload", "The uploaded file is empty.")
    return size


def discard(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def limits_from_settings(s: Settings) -> UploadLimits:
    """The validators' limits from the service settings."""
    mb = 1024 * 1024
    return UploadLimits(max_upload_bytes=int(s.max_upload_mb * mb),
                        max_members=s.max_archive_members,
                        max_total_bytes=int(s.max_uncompressed_mb * mb),
                        max_member_bytes=int(s.max_uncompressed_mb * mb),
                        max_model_bytes=int(s.max_model_mb * mb),
                        max_parameters=s.max_model_parameters,
                        max_compression_ratio=s.max_compression_ratio,
                        max_dataset_rows=s.max_dataset_rows,
                        max_dataset_bytes=int(s.max_upload_mb * mb),
                        max_model_memory_bytes=int((s.worker_memory_mb or s.max_model_memory_mb) * mb),
                        max_validation_seconds=s.upload_timeout_seconds,
                        tokenizer_probe_seconds=s.tokenizer_probe_seconds,
                        tokenizer_probe_memory_bytes=int(s.tokenizer_probe_memory_mb * mb))
