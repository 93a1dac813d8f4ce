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

import csv
import io
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from common.hashing import bytes_sha256, file_sha256
from service.validation.errors import UploadRejected
from service.validation.limits import DEFAULT_LIMITS, UploadLimits

FORMATS = ("csv", "tsv", "jsonl", "parquet")
SUFFIX_FORMAT = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
TEXT_GUESSES = ("sentence", "text", "sentence1", "question", "premise", "question1")
PAIR_GUESSES = {"sentence1": "sentence2", "question": "sentence", "premise": "hypothesis", "question1": "question2"}
LABEL_GUESSES = ("label", "labels", "gold_label")


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


def detect_format(path: Path, declared: str | None = None) -> str:
    """The format from ``declared`` or the file suffix; parquet also by its magic bytes."""
    fmt = declared or SUFFIX_FORMAT.get(path.suffix.lower())
    if fmt is None:
        with open(path, "rb") as f:
            fmt = "parquet" if f.read(4) == b"PAR1" else None
    if fmt not in FORMATS:
        raise UploadRejected("dataset_format", f"cannot tell the format of {path.name!r}; use one of {', '.join(FORMATS)} (by suffix or the format field)")
    return fmt


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UploadRejected("dataset_encoding", f"byte {e.start} (0x{data[e.start]:02x}) is not valid UTF-8; re-save the file as UTF-8") from None


def _delimited(text: str, delimiter: str, limits: UploadLimits) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    if "\x00" in text:
        raise UploadRejected("dataset_malformed", "the file contains NUL bytes; it is not a text table")
    csv.field_size_limit(max(limits.max_dataset_bytes, 131072))  # lengths are checked per column below
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise UploadRejected("dataset_malformed", f"the header cannot be parsed: {e}") from None
    if not header or not any(h.strip() for h in header):
        raise UploadRejected("dataset_empty", "the file has no header row and no data")
    if len(set(header)) != len(header):
        raise UploadRejected("dataset_malformed", f"the header repeats a column name: {header}")

    def rows() -> Iterator[tuple[int, dict]]:
        try:
            for fields in reader:
                if not fields:
                    continue
                if len(fields) != len(header):
                    raise UploadRejected("dataset_malformed", f"line {reader.line_num} has {len(fields)} fields; the header has {len(header)}")
                yield reader.line_num, dict(zip(header, fields, strict=True))
        except csv.Error as e:
            raise UploadRejected("dataset_malformed", f"line {reader.line_num} cannot be parsed: {e}") from None

    return header, rows()


def _jsonl(text: str) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    parsed: list[tuple[int, dict]] = []
    columns: dict[str, None] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as e:
            raise UploadRejected("dataset_malformed", f"line {n} is not valid JSON: {e}") from None
        if not isinstance(obj, dict):
            raise UploadRejected("dataset_malformed", f"line {n} is a JSON {type(obj).__name__}, not an object")
        columns.update(dict.fromkeys(obj))
        parsed.append((n, obj))
    if not parsed:
        raise UploadRejected("dataset_empty", "the file holds no JSON objects")
    return list(columns), iter(parsed)


def _parquet(path: Path, limits: UploadLimits) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    import pyarrow as pa  # lazy: only parquet needs it
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        if pf.metadata.num_rows > limits.max_dataset_rows:
            raise UploadRejected("dataset_too_many_rows", f"the file has {pf.metadata.num_rows} rows; the limit is {limits.max_dataset_rows}")
        table = pf.read()
    except (pa.ArrowException, OSError) as e:
        raise UploadRejected("dataset_malformed", f"the Parquet file cannot be read: {e}") from None
    columns = table.column_names
    records = table.to_pylist()
    return columns, iter((i + 1, r) for i, r in enumerate(records))


def _guess(columns: list[str], text: str | None, pair: str | None, label: str | None) -> tuple[str, str | None, str | None]:
    for name, role in ((text, "text_column"), (pair, "pair_column"), (label, "label_column")):
        if name is not None and name not in columns:
            raise UploadRejected("dataset_column_missing", f"{role} {name!r} is not a column; the file has {columns}")
    if text is None:
        text = next((c for c in TEXT_GUESSES if c in columns), None)
        if text is None:
            raise UploadRejected("dataset_column_missing", f"no text column given and none of {list(TEXT_GUESSES)} found in {columns}; set text_column")
        if pair is None and PAIR_GUESSES.get(text) in columns:
            pair = PAIR_GUESSES[text]
    if label is None:
        label = next((c for c in LABEL_GUESSES if c in columns), None)
    return text, pair, label


def _label_name(value: object, labels: list[str] | None, where: str) -> str:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if labels is None:
        if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
            raise UploadRejected("dataset_malformed", f"{where}: label {value!r} is neither a name nor an integer")
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(labels):
        return labels[value]
    if isinstance(value, str) and value in labels:
        return value
    raise UploadRejected("dataset_label_unknown", f"{where}: label {value!r} is not in the model's label set {labels} (give a name or an index 0..{len(labels) - 1})")


def _text(value: object, column: str, where: str, limits: UploadLimits) -> None:
    if not isinstance(value, str) or not value.strip():
        raise UploadRejected("dataset_malformed", f"{where}: column {column!r} must be a non-empty string, got {value!r}")
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
    path = Path(path)
    size = path.stat().st_size
    if size > limits.max_dataset_bytes:
        raise UploadRejected("dataset_too_large", f"the file is {size} bytes; the limit is {limits.max_dataset_bytes}")
    if size == 0:
        raise UploadRejected("dataset_empty", "the file is empty")
    fmt = detect_format(path, format)
    data = path.read_bytes()
    if fmt == "parquet":
        columns, rows = _parquet(path, limits)
    else:
        text = _decode(data)
        columns, rows = _jsonl(text) if fmt == "jsonl" else _delimited(text, "\t" if fmt == "tsv" else ",", limits)
    text_col, pair_col, label_col = _guess(columns, text_column, pair_column, label_column)
    if label_col is None and require_labels:
        raise UploadRejected("dataset_column_missing", f"no label column given and none of {list(LABEL_GUESSES)} found in {columns}; set label_column")
    counts: Counter[str] = Counter()
    n = 0
    for line, row in rows:
        n += 1
        if n > limits.max_dataset_rows:
            raise UploadRejected("dataset_too_many_rows", f"the file has more than {limits.max_dataset_rows} rows")
        where = f"row {n} (line {line})"
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
    return DatasetManifest(fmt, n, text_col, pair_col, label_col, dict(sorted(counts.items())), bytes_sha256(data), size)


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
