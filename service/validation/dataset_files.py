"""Validate an uploaded dataset (CSV, TSV, JSONL, Parquet) against column mapping and labels.

Rules (documented for API users):
- the file must be UTF-8 (a BOM is allowed) and non-empty, within the byte and row limits;
- CSV/TSV need a header row; every row must have exactly the header's field count
  (standard CSV quoting, as in the GLUE TSVs); JSONL needs one JSON object per non-blank line;
- columns come from the mapping, else are guessed from GLUE headers (``sentence``,
  ``sentence1``/``sentence2``, ``question``/``sentence``, ``premise``/``hypothesis``, ``label``);
- a label is a name from the model's label set or an integer index into it;
- texts are never rewritten: a text longer than ``max_text_chars`` characters is refused
  (``dataset_text_too_long``); shorter texts that exceed the model's maximum length are
  truncated to it by the tokenizer at audit time (head of the text kept).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from common.dataset_reader import (
    FORMATS,
    LABEL_GUESSES,
    DatasetFileError,
    ReadLimits,
    guess_columns,
    parse_label,
    read_rows,
)
from common.hashing import file_sha256
from service.validation.deadline import check_deadline, deadline
from service.validation.errors import UploadRejected
from service.validation.limits import DEFAULT_LIMITS, UploadLimits

__all__ = ["FORMATS", "DatasetManifest", "store_dataset_file", "validate_dataset_file"]


@dataclass(frozen=True)
class DatasetManifest:
    format: str
    rows: int
    text_column: str
    pair_column: str | None
    label_column: str | None
    label_counts: dict[str, int]     # label name (or raw value with no label set) -> rows
    sha256: str                      # of the file bytes
    bytes: int

    def to_json(self) -> dict:
        return asdict(self)


@contextmanager
def _rejected() -> Iterator[None]:
    """The shared reader's errors as upload refusals (same code, same sentence)."""
    try:
        yield
    except DatasetFileError as e:
        raise UploadRejected(e.code, e.message) from None


def read_limits(limits: UploadLimits) -> ReadLimits:
    return ReadLimits(max_bytes=limits.max_dataset_bytes, max_rows=limits.max_dataset_rows,
                      max_decoded_bytes=limits.max_dataset_bytes, max_text_chars=limits.max_text_chars)


def _label_name(value: object, labels: list[str] | None, where: str) -> str:
    try:
        parsed = parse_label(value, labels)
    except DatasetFileError as e:
        raise UploadRejected(e.code, f"{where}: {e.message}") from None
    if parsed is None:
        raise UploadRejected("dataset_label_unknown", f"{where}: label {value!r} is negative, which marks an unlabelled row; every uploaded row needs a label")
    if labels is not None:
        return labels[int(parsed)]
    return str(parsed)


def _text(value: object, column: str, where: str, limits: UploadLimits) -> None:
    if not isinstance(value, str) or not value.strip():
        raise UploadRejected("dataset_malformed", f"{where}: column {column!r} must be a non-empty string, got {str(value)[:40]!r}")
    if len(value) > limits.max_text_chars:
        raise UploadRejected("dataset_text_too_long", f"{where}: the {column!r} text has {len(value)} characters; the limit is {limits.max_text_chars} (shorter texts are truncated to the model's length by the tokenizer)")


def validate_dataset_file(
    path: str | Path,
    limits: UploadLimits = DEFAULT_LIMITS,
    *,
    format: str | None = None,
    text_column: str | None = None,
    pair_column: str | None = None,
    label_column: str | None = None,
    labels: list[str] | None = None,
    require_labels: bool = True,
) -> DatasetManifest:
    """Parse and check every row; return the manifest or raise ``UploadRejected``."""
    with deadline(limits.max_validation_seconds):
        return _validate(Path(path), limits, format, text_column, pair_column, label_column, labels, require_labels)


def _validate(path: Path, limits: UploadLimits, format: str | None, text_column: str | None,  # noqa: A002
              pair_column: str | None, label_column: str | None, labels: list[str] | None,
              require_labels: bool) -> DatasetManifest:
    with _rejected():
        fmt, columns, rows = read_rows(path, read_limits(limits), format=format)
        text_col, pair_col, label_col = guess_columns(columns, text_column, pair_column, label_column)
    if label_col is None and require_labels:
        raise UploadRejected("dataset_column_missing", f"no label column given and none of {list(LABEL_GUESSES)} found in {columns}; set label_column")
    counts: Counter[str] = Counter()
    n = 0
    with _rejected():
        for line, row in rows:
            if n % 1024 == 0:
                check_deadline()
            n += 1
            if n > limits.max_dataset_rows:
                raise UploadRejected("dataset_too_many_rows", f"the file has more than {limits.max_dataset_rows} rows")
            where = f"row {n} (line {line})" if fmt != "parquet" else f"row {n}"
            for col in filter(None, (text_col, pair_col)):
                if col not in row:
                    raise UploadRejected("dataset_malformed", f"{where} has no {col!r} field")
                _text(row[col], col, where, limits)
            if label_col is not None:
                if row.get(label_col) is None:
                    raise UploadRejected("dataset_malformed", f"{where} has no {label_col!r} value")
                counts[_label_name(row[label_col], labels, where)] += 1
    if n == 0:
        raise UploadRejected("dataset_empty", "the file has a header but no data rows")
    return DatasetManifest(fmt, n, text_col, pair_col, label_col, dict(sorted(counts.items())), file_sha256(path), path.stat().st_size)


def store_dataset_file(path: str | Path, dest: str | Path, limits: UploadLimits = DEFAULT_LIMITS, **mapping) -> tuple[DatasetManifest, Path]:
    """Validate, then copy to ``dest/<sha256>.<format>`` through a temp file and an atomic rename."""
    manifest = validate_dataset_file(path, limits, **mapping)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / f"{manifest.sha256}.{manifest.format}"
    if final.is_file():
        return manifest, final
    fd, tmp = tempfile.mkstemp(prefix=".incoming-", dir=dest)
    try:
        with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
            shutil.copyfileobj(src, out)
        if file_sha256(tmp) != manifest.sha256:
            raise UploadRejected("dataset_malformed", "the file changed while it was being stored")
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return manifest, final
