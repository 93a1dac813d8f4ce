"""The one reader of dataset files (CSV, TSV, JSONL, Parquet): the upload validator and the
worker both read through it, so a file the API accepted is read the same way by the audit.

Torch-free and bounded: every format is parsed incrementally (one line, one object or one
Parquet row group in memory at a time) with the decoded size capped.
- CSV/TSV: UTF-8 (a BOM is allowed), a header row, standard CSV quoting (as in the GLUE TSVs),
  every row exactly the header's field count, every cell kept as a string ("NA" is a word).
- JSONL: one JSON object per non-blank line; a key repeated inside one object is refused
  (``json.loads`` would silently keep the last value, and the two readers could disagree).
- Parquet: the footer is checked first (rows, declared uncompressed sizes), then one row group
  at a time is decoded, string columns as dictionaries, and the decoded text is counted from
  the dictionary lengths *before* any string is expanded: a 1 KB file of one long string
  repeated a million times is refused without materialising it.
Labels: an integer is ASCII digits only (``"²"`` is a name, not the number 2); see ``parse_label``.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from common.registries import DATASET_FORMATS, check_implemented

FORMATS = DATASET_FORMATS
SUFFIX_FORMAT = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
                 ".parquet": "parquet"}
# (text, pair) guesses, pairs first: a QNLI-style file has both ``question`` and ``sentence``.
TEXT_PAIR_GUESSES: tuple[tuple[str, str | None], ...] = (
    ("sentence1", "sentence2"), ("question1", "question2"), ("premise", "hypothesis"),
    ("question", "sentence"), ("sentence", None), ("text", None), ("review", None),
    ("content", None), ("question", None), ("sentence1", None), ("premise", None), ("question1", None),
)
LABEL_GUESSES = ("label", "labels", "gold_label", "class", "target")
_INT = re.compile(r"-?[0-9]+\Z")   # ASCII only: str.isdigit() accepts "²", int() then fails


class DatasetFileError(ValueError):
    """A dataset file that cannot be read: ``code`` (the validator's rejection code), a message
    with no server path in it (callers add the file name they want to show)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class ReadLimits:
    max_bytes: int = 200 * 1024 * 1024          # the file itself
    max_rows: int = 200_000
    max_decoded_bytes: int = 200 * 1024 * 1024  # all decoded text cells together (Parquet)
    max_text_chars: int = 20_000                # one cell


def detect_format(path: Path, declared: str | None = None) -> str:
    """The format from ``declared`` or the file suffix; parquet also by its magic bytes."""
    fmt = declared or SUFFIX_FORMAT.get(path.suffix.lower())
    if fmt is None:
        with open(path, "rb") as f:
            fmt = "parquet" if f.read(4) == b"PAR1" else None
    if fmt not in FORMATS:
        raise DatasetFileError("dataset_format", f"cannot tell the format of {path.name!r}; use one of {', '.join(FORMATS)} (by suffix or the format field)")
    return fmt


def _bad_utf8(path: Path) -> DatasetFileError:
    """The refusal naming the first byte that is not UTF-8 (found by an incremental decoder)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    offset = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as e:
                at = offset + e.start
                return DatasetFileError("dataset_encoding", f"byte {at} (0x{block[e.start]:02x}) is not valid UTF-8; re-save the file as UTF-8")
            offset += len(block)
    return DatasetFileError("dataset_encoding", "the file ends inside a UTF-8 character; re-save the file as UTF-8")


def _lines(path: Path) -> Iterator[str]:
    """The file's lines, decoded as they are read (memory: one line, not the file)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            yield from f
    except UnicodeDecodeError:
        raise _bad_utf8(path) from None


def _no_nul(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if "\x00" in line:
            raise DatasetFileError("dataset_malformed", "the file contains NUL bytes; it is not a text table")
        yield line


def _delimited(path: Path, delimiter: str, limits: ReadLimits) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    csv.field_size_limit(max(limits.max_bytes, 131072))  # lengths are checked per cell by callers
    reader = csv.reader(_no_nul(_lines(path)), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise DatasetFileError("dataset_malformed", f"the header cannot be parsed: {e}") from None
    if not header or not any(h.strip() for h in header):
        raise DatasetFileError("dataset_empty", "the file has no header row and no data")
    if len(set(header)) != len(header):
        raise DatasetFileError("dataset_malformed", f"the header repeats a column name: {header}")

    def rows() -> Iterator[tuple[int, dict]]:
        try:
            for fields in reader:
                if not fields:
                    continue
                if len(fields) != len(header):
                    raise DatasetFileError("dataset_malformed", f"line {reader.line_num} has {len(fields)} fields; the header has {len(header)}")
                yield reader.line_num, dict(zip(header, fields, strict=True))
        except csv.Error as e:
            raise DatasetFileError("dataset_malformed", f"line {reader.line_num} cannot be parsed: {e}") from None

    return header, rows()


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise DatasetFileError("dataset_malformed", f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def _jsonl_objects(path: Path) -> Iterator[tuple[int, dict]]:
    for n, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, object_pairs_hook=_no_duplicate_keys)
        except DatasetFileError as e:
            raise DatasetFileError(e.code, f"line {n}: {e.message}") from None
        except (json.JSONDecodeError, RecursionError) as e:
            raise DatasetFileError("dataset_malformed", f"line {n} is not valid JSON: {e}") from None
        if not isinstance(obj, dict):
            raise DatasetFileError("dataset_malformed", f"line {n} is a JSON {type(obj).__name__}, not an object")
        yield n, obj


def _jsonl(path: Path, limits: ReadLimits) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    """Two passes, one object in memory at a time: the first collects the columns (every key
    of every object, in order) and checks the syntax, the second yields the rows."""
    columns: dict[str, None] = {}
    for _, obj in _jsonl_objects(path):
        columns.update(dict.fromkeys(obj))
    if not columns and not any(True for _ in _jsonl_objects(path)):
        raise DatasetFileError("dataset_empty", "the file holds no JSON objects")
    return list(columns), _jsonl_objects(path)


def _decoded_bytes(column) -> tuple[int, int]:  # noqa: ANN001 - a pyarrow (Chunked)Array
    """(total, largest) byte length of a string column, computed without expanding dictionaries."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = largest = 0
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    for chunk in chunks:
        if pa.types.is_dictionary(chunk.type):
            values = chunk.dictionary
            if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
                    or pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type)):
                continue
            lengths = pc.take(pc.binary_length(values).cast(pa.int64()), chunk.indices)
        elif (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)
              or pa.types.is_binary(chunk.type) or pa.types.is_large_binary(chunk.type)):
            lengths = pc.binary_length(chunk).cast(pa.int64())
        else:
            continue
        total += pc.sum(lengths).as_py() or 0
        largest = max(largest, pc.max(lengths).as_py() or 0)
    return total, largest


def _parquet(path: Path, limits: ReadLimits) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    import pyarrow as pa  # lazy: only parquet needs it
    import pyarrow.parquet as pq

    try:
        probe = pq.ParquetFile(path)
        md = probe.metadata
        schema = probe.schema_arrow
    except (pa.ArrowException, OSError) as e:
        raise DatasetFileError("dataset_malformed", f"the Parquet file cannot be read: {e}") from None
    if md.num_rows > limits.max_rows:
        raise DatasetFileError("dataset_too_many_rows", f"the file has {md.num_rows} rows; the limit is {limits.max_rows}")
    declared = sum(md.row_group(g).column(c).total_uncompressed_size
                   for g in range(md.num_row_groups) for c in range(md.num_columns))
    if declared > limits.max_decoded_bytes:
        raise DatasetFileError("dataset_too_large", f"the Parquet file declares {declared} uncompressed bytes; the limit is {limits.max_decoded_bytes}")
    def _is_text(t) -> bool:  # noqa: ANN001
        if pa.types.is_dictionary(t):
            t = t.value_type
        return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t)

    strings = [f.name for f in schema if _is_text(f.type)]
    columns = list(schema.names)
    max_cell = 4 * limits.max_text_chars + 4  # UTF-8 bytes of the longest acceptable cell

    def rows() -> Iterator[tuple[int, dict]]:
        n = 0
        decoded = 0
        try:
            pf = pq.ParquetFile(path, read_dictionary=strings)
            for g in range(md.num_row_groups):
                table = pf.read_row_group(g)
                for name in strings:
                    total, largest = _decoded_bytes(table.column(name))
                    decoded += total
                    if largest > max_cell:
                        raise DatasetFileError("dataset_text_too_long", f"row group {g} of column {name!r} holds a {largest}-byte value; the limit is {limits.max_text_chars} characters")
                    if decoded > limits.max_decoded_bytes:
                        raise DatasetFileError("dataset_too_large", f"the text decodes to more than {limits.max_decoded_bytes} bytes (reached in row group {g}); the limit is {limits.max_decoded_bytes}")
                for batch in table.to_batches(max_chunksize=1024):
                    for record in batch.to_pylist():
                        n += 1
                        yield n, record
        except (pa.ArrowException, OSError) as e:
            raise DatasetFileError("dataset_malformed", f"the Parquet file cannot be read: {e}") from None

    return columns, rows()


_READERS = {
    "csv": lambda path, limits: _delimited(path, ",", limits),
    "tsv": lambda path, limits: _delimited(path, "\t", limits),
    "jsonl": _jsonl,
    "parquet": _parquet,
}
check_implemented("dataset format", _READERS)


def read_rows(path: str | Path, limits: ReadLimits = ReadLimits(), *,
              format: str | None = None) -> tuple[str, list[str], Iterator[tuple[int, dict]]]:
    """(format, columns, iterator of (line or row number, row dict)); raises ``DatasetFileError``.

    The row count is the caller's to check as it iterates (the iterator is lazy for Parquet).
    """
    path = Path(path)
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise DatasetFileError("dataset_too_large", f"the file is {size} bytes; the limit is {limits.max_bytes}")
    if size == 0:
        raise DatasetFileError("dataset_empty", "the file is empty")
    fmt = detect_format(path, format)
    columns, rows = _READERS[fmt](path, limits)
    return fmt, columns, rows


def guess_columns(columns: list[str], text: str | None, pair: str | None,
                  label: str | None) -> tuple[str, str | None, str | None]:
    """The (text, pair, label) columns: the given names (checked), else GLUE-style guesses."""
    for name, role in ((text, "text_column"), (pair, "pair_column"), (label, "label_column")):
        if name is not None and name not in columns:
            raise DatasetFileError("dataset_column_missing", f"{role} {name!r} is not a column; the file has {columns}")
    if text is None:
        for t, p in TEXT_PAIR_GUESSES:
            if t in columns and (p is None or p in columns):
                text, pair = t, pair or p
                break
        else:
            raise DatasetFileError("dataset_column_missing", f"no text column given and none of {sorted({t for t, _ in TEXT_PAIR_GUESSES})} found in {columns}; set text_column")
    if label is None:
        label = next((c for c in LABEL_GUESSES if c in columns), None)
    return text, pair, label


def parse_label(value: object, labels: list[str] | None) -> int | str | None:
    """A label cell: ``None`` when unlabelled (missing, blank, or negative as in GLUE test
    splits), else the index into ``labels`` (with no label set: the integer, or the name).

    Raises ``DatasetFileError`` for a value that is neither a known name nor an integer index.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise DatasetFileError("dataset_malformed", f"label {value!r} is a boolean, neither a name nor an integer")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if labels is not None and text in labels:
            return labels.index(text)
        if _INT.match(text):
            value = int(text)
        elif labels is None:
            return text
        else:
            raise DatasetFileError("dataset_label_unknown", f"label {text!r} is not in the model's label set {labels} (give a name or an index 0..{len(labels) - 1})")
    if not isinstance(value, int):
        raise DatasetFileError("dataset_malformed", f"label {value!r} is neither a name nor an integer")
    if value < 0:
        return None
    if labels is None:
        return value
    if value >= len(labels):
        raise DatasetFileError("dataset_label_unknown", f"label {value} is not in the model's label set {labels} (give a name or an index 0..{len(labels) - 1})")
    return value


def as_text(value: object) -> str | None:
    """A cell as text (Parquet/JSONL numbers become their decimal text)."""
    return value if value is None or isinstance(value, str) else str(value)
