"""Hostile and broken dataset uploads, built by the tests: builder, expected code, mapping."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from service.validation import DEFAULT_LIMITS, UploadLimits

LABELS = ["negative", "positive"]


@dataclass(frozen=True)
class DatasetCase:
    name: str
    code: str
    build: Callable[[Path], Path]
    mapping: dict = field(default_factory=dict)
    limits: dict = field(default_factory=dict)

    def upload_limits(self) -> UploadLimits:
        return replace(DEFAULT_LIMITS, **self.limits)


def _write(name: str, data: bytes | str) -> Callable[[Path], Path]:
    def build(w: Path) -> Path:
        p = w / name
        p.write_bytes(data.encode() if isinstance(data, str) else data)
        return p

    return build


def _jsonl(rows: list) -> str:
    return "\n".join(json.dumps(r) for r in rows) + "\n"


def _corrupt_parquet(w: Path) -> Path:
    p = w / "bad.parquet"
    p.write_bytes(b"PAR1" + b"\x13" * 200 + b"PAR1")
    return p


GOOD_CSV = "sentence,label\na good film,1\na bad film,0\n"
DATASET_CASES: list[DatasetCase] = [
    DatasetCase("csv_latin1", "dataset_encoding", _write("d.csv", "sentence,label\ncaf\xe9 au lait,1\n".encode("latin-1"))),
    DatasetCase("jsonl_utf16", "dataset_encoding", _write("d.jsonl", _jsonl([{"text": "good", "label": 1}]).encode("utf-16"))),
    DatasetCase("csv_extra_field", "dataset_malformed", _write("d.csv", GOOD_CSV + "too,many,fields\n")),
    DatasetCase("csv_unterminated_quote", "dataset_malformed", _write("d.csv", GOOD_CSV + '"never closed,1\n')),
    DatasetCase("csv_nul_bytes", "dataset_malformed", _write("d.csv", GOOD_CSV + "bad\x00row,1\n")),
    DatasetCase("tsv_missing_field", "dataset_malformed", _write("d.tsv", "sentence\tlabel\nonly one field\n")),
    DatasetCase("jsonl_bad_line", "dataset_malformed", _write("d.jsonl", _jsonl([{"text": "good", "label": 1}]) + "{oops\n")),
    DatasetCase("jsonl_array_line", "dataset_malformed", _write("d.jsonl", _jsonl([{"text": "good", "label": 1}, ["not", "an", "object"]]))),
    DatasetCase("jsonl_text_not_string", "dataset_malformed", _write("d.jsonl", _jsonl([{"text": {"$gt": ""}, "label": 1}]))),
    DatasetCase("parquet_corrupt", "dataset_malformed", _corrupt_parquet),
    DatasetCase("label_name_unknown", "dataset_label_unknown", _write("d.csv", GOOD_CSV + "meh,neutral\n"), {"labels": LABELS}),
    DatasetCase("label_index_out_of_range", "dataset_label_unknown", _write("d.jsonl", _jsonl([{"text": "x", "label": 7}])), {"labels": LABELS}),
    DatasetCase("label_negative_index", "dataset_label_unknown", _write("d.csv", GOOD_CSV + "x,-1\n"), {"labels": LABELS}),
    DatasetCase("empty_file", "dataset_empty", _write("d.csv", b"")),
    DatasetCase("header_only", "dataset_empty", _write("d.csv", "sentence,label\n")),
    DatasetCase("jsonl_blank_lines", "dataset_empty", _write("d.jsonl", "\n\n  \n")),
    DatasetCase("text_far_too_long", "dataset_text_too_long", _write("d.csv", "sentence,label\n" + "word " * 40_000 + ",1\n")),
    DatasetCase("mapped_column_missing", "dataset_column_missing", _write("d.csv", GOOD_CSV), {"text_column": "review"}),
    DatasetCase("no_label_column", "dataset_column_missing", _write("d.csv", "sentence,score\ngood,5\n")),
    DatasetCase("unknown_format", "dataset_format", _write("d.xlsx", b"PK\x03\x04 not a table")),
    DatasetCase("too_many_rows", "dataset_too_many_rows", _write("d.csv", "sentence,label\n" + "good,1\n" * 50), limits={"max_dataset_rows": 10}),
    DatasetCase("too_many_bytes", "dataset_too_large", _write("d.csv", GOOD_CSV * 100), limits={"max_dataset_bytes": 1000}),
]
