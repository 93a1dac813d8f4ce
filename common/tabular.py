"""One reader for dataset files: CSV, TSV, JSONL and Parquet, torch-free.

The audit (``attribution.data.load_examples``, which the CLI and the workers both call) reads
every dataset through ``read_rows``, with the rules of the service's upload validator
(``service/validation/dataset_files.py``), so a file the upload accepted parses the same way in
the worker: UTF-8 (a BOM is dropped), standard CSV quoting with ``strict`` parsing (TSV is CSV
with tabs: GLUE's RTE quotes fields), every cell kept as text ("NA" is a word), a header that
names each column once, the same number of fields on every line, one JSON object per JSONL line,
and a JSON object that names a key twice is refused (``json`` would keep the last copy silently,
Arrow's reader refuses it: before this reader the upload accepted such a row and the audit then
failed on it).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

FORMATS = ("csv", "tsv", "jsonl", "parquet")
SUFFIX_FORMAT = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
                 ".parquet": "parquet"}
Rows = Iterator[tuple[int, dict]]  # (line or row number, column -> value)


class TableError(ValueError):
    """A file that is not a readable table; ``code`` is the validator's refusal code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def format_of(path: Path) -> str | None:
    """The format named by the suffix, else parquet by its magic bytes, else None."""
    fmt = SUFFIX_FORMAT.get(path.suffix.lower())
    if fmt is None:
        with open(path, "rb") as f:
            fmt = "parquet" if f.read(4) == b"PAR1" else None
    return fmt


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise TableError("dataset_encoding", f"byte {e.start} (0x{data[e.start]:02x}) is not valid UTF-8; "
                         "re-save the file as UTF-8") from None


def delimited(text: str, delimiter: str, field_limit: int = 1 << 30) -> tuple[list[str], Rows]:
    if "\x00" in text:
        raise TableError("dataset_malformed", "the file contains NUL bytes; it is not a text table")
    csv.field_size_limit(max(field_limit, 131072))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise TableError("dataset_malformed", f"the header cannot be parsed: {e}") from None
    if not header or not any(h.strip() for h in header):
        raise TableError("dataset_empty", "the file has no header row and no data")
    if len(set(header)) != len(header):
        raise TableError("dataset_malformed", f"the header repeats a column name: {header}")

    def rows() -> Rows:
        try:
            for fields in reader:
                if not fields:
                    continue
                if len(fields) != len(header):
                    raise TableError("dataset_malformed",
                                     f"line {reader.line_num} has {len(fields)} fields; the header has {len(header)}")
                yield reader.line_num, dict(zip(header, fields, strict=True))
        except csv.Error as e:
            raise TableError("dataset_malformed", f"line {reader.line_num} cannot be parsed: {e}") from None

    return header, rows()


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    obj: dict = {}
    for key, value in pairs:
        if key in obj:
            raise TableError("dataset_malformed", f"the key {key!r} appears twice in one object")
        obj[key] = value
    return obj


def jsonl(text: str) -> tuple[list[str], Rows]:
    parsed: list[tuple[int, dict]] = []
    columns: dict[str, None] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, object_pairs_hook=_unique_keys)
        except TableError as e:
            raise TableError(e.code, f"line {n}: {e.message}") from None
        except (json.JSONDecodeError, RecursionError) as e:
            raise TableError("dataset_malformed", f"line {n} is not valid JSON: {e}") from None
        if not isinstance(obj, dict):
            raise TableError("dataset_malformed", f"line {n} is a JSON {type(obj).__name__}, not an object")
        columns.update(dict.fromkeys(obj))
        parsed.append((n, obj))
    if not parsed:
        raise TableError("dataset_empty", "the file holds no JSON objects")
    return list(columns), iter(parsed)


def parquet(path: Path, max_rows: int | None = None) -> tuple[list[str], Rows]:
    import pyarrow as pa  # lazy: only parquet needs it
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        if max_rows is not None and pf.metadata.num_rows > max_rows:
            raise TableError("dataset_too_many_rows",
                             f"the file has {pf.metadata.num_rows} rows; the limit is {max_rows}")
        table = pf.read()
    except (pa.ArrowException, OSError) as e:
        raise TableError("dataset_malformed", f"the Parquet file cannot be read: {e}") from None
    return table.column_names, iter((i + 1, r) for i, r in enumerate(table.to_pylist()))


def read_rows(path: str | Path, fmt: str | None = None) -> tuple[list[str], Rows]:
    """(columns, rows) of a dataset file; ``TableError`` when it is not a readable table."""
    path = Path(path)
    fmt = fmt or format_of(path)
    if fmt not in FORMATS:
        raise TableError("dataset_format", f"cannot tell the format of {path.name!r}; use one of "
                         f"{', '.join(sorted(SUFFIX_FORMAT))}")
    if fmt == "parquet":
        return parquet(path)
    text = decode(path.read_bytes())
    return jsonl(text) if fmt == "jsonl" else delimited(text, "\t" if fmt == "tsv" else ",")
