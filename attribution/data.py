"""Examples and dataset files: CSV, TSV, JSONL or Parquet read through ``common.dataset_reader``,
the same reader the service's upload validator uses (one reading for the API and the worker).

GLUE-style headers are recognised (``sentence``; ``sentence1``/``sentence2``; ``question``/
``sentence``; ``question1``/``question2``; ``premise``/``hypothesis``; ``label``); other columns
are named explicitly. Labels may be integers or label names (mapped through the model's labels);
negative integers (GLUE test splits) mark unlabelled rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from attribution.errors import DataError
from common.dataset_reader import (
    DatasetFileError,
    ReadLimits,
    as_text,
    guess_columns,
    parse_label,
    read_rows,
)
from common.hashing import file_sha256

# Reading limits for local files (the service applies its own, smaller, at upload).
LOCAL_LIMITS = ReadLimits(max_bytes=4 * 1024**3, max_rows=10_000_000,
                          max_decoded_bytes=4 * 1024**3, max_text_chars=10_000_000)


@dataclass
class Example:
    """One input: a text, an optional second text of a pair, an optional gold label index."""

    text: str
    pair: str | None = None
    label: int | None = None


def load_examples(
    path: str | Path,
    *,
    text_column: str | None = None,
    pair_column: str | None = None,
    label_column: str | None = None,
    labels: list[str] | None = None,
    limit: int | None = None,
) -> list[Example]:
    """Read a dataset file into ``Example``s; raises ``DataError`` on any bad file or row.

    Messages name the file by its name only (never a server path).
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise DataError(f"data file {name!r} not found")
    n = None if limit is None else max(int(limit), 0)
    out: list[Example] = []
    try:
        _, cols, rows = read_rows(path, LOCAL_LIMITS)
        text_column, pair_column, label_column = guess_columns(cols, text_column, pair_column, label_column)
        for i, (_, row) in enumerate(rows, start=1):
            if n is not None and len(out) >= n:
                break
            text = as_text(row.get(text_column))
            if not isinstance(text, str) or not text.strip():
                raise DataError(f"{name} row {i}: empty text in column {text_column!r}")
            pair = None
            if pair_column is not None:
                pair = as_text(row.get(pair_column))
                if not isinstance(pair, str) or not pair.strip():
                    raise DataError(f"{name} row {i}: empty text in column {pair_column!r}")
            label = None
            if label_column:
                try:
                    parsed = parse_label(row.get(label_column), labels)
                except DatasetFileError as e:
                    raise DataError(f"{name} row {i}: {e.message}") from None
                if isinstance(parsed, str):
                    raise DataError(f"{name} row {i}: unknown label {parsed!r}; valid: integers")
                label = parsed
            out.append(Example(text=text, pair=pair, label=label))
    except DatasetFileError as e:
        if e.code == "dataset_column_missing" and text_column is None:
            raise DataError(f"{name}: {e.message}; name it with --text-column") from None
        raise DataError(f"{name}: {e.message}") from None
    if not out and n != 0:
        raise DataError(f"{name}: no rows")
    return out


def dataset_sha256(path: str | Path) -> str:
    """SHA-256 of the file's bytes (``common.hashing.file_sha256``); DataError when unreadable."""
    try:
        return file_sha256(path)
    except OSError as exc:
        raise DataError(f"cannot read {Path(path).name}: {exc.strerror}") from exc


def encode(tokenizer, examples: Sequence[Example], device: str | torch.device | None = None):
    """Tokenize a batch with dynamic padding (to the longest in the batch), truncating to the
    tokenizer's maximum length. Returns a ``BatchEncoding`` of tensors on ``device``."""
    if not examples:
        raise DataError("no examples to encode")
    for ex in examples:
        if not isinstance(ex.text, str) or not ex.text.strip():
            raise DataError("empty text")
        if ex.pair is not None and (not isinstance(ex.pair, str) or not ex.pair.strip()):
            raise DataError("empty pair text")
    texts = [ex.text for ex in examples]
    pairs = [ex.pair for ex in examples]
    has_pairs = any(p is not None for p in pairs)
    if has_pairs and not all(p is not None for p in pairs):
        raise DataError("a batch mixes single texts and sentence pairs")
    max_len = getattr(tokenizer, "model_max_length", None)
    enc = tokenizer(
        texts,
        pairs if has_pairs else None,
        padding=True,
        truncation=True,
        max_length=max_len if max_len and max_len < 100_000 else 512,
        return_tensors="pt",
    )
    return enc.to(device) if device is not None else enc
