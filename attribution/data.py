"""Examples and dataset files: CSV, TSV, JSONL or Parquet read through ``datasets``.

GLUE-style headers are recognised (``sentence``; ``sentence1``/``sentence2``; ``question``/
``sentence``; ``question1``/``question2``; ``premise``/``hypothesis``; ``label``); other columns
are named explicitly. Labels may be integers or label names (mapped through the model's labels).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from attribution.errors import DataError
from common.hashing import file_sha256

FORMATS = {".csv": "csv", ".tsv": "csv", ".jsonl": "json", ".json": "json", ".parquet": "parquet"}
TEXT_PAIR_GUESSES = [
    ("sentence1", "sentence2"), ("question1", "question2"), ("premise", "hypothesis"),
    ("question", "sentence"), ("sentence", None), ("text", None), ("review", None),
    ("content", None), ("question", None),
]
LABEL_GUESSES = ["label", "labels", "gold_label", "class", "target"]


@dataclass
class Example:
    """One input: a text, an optional second text of a pair, an optional gold label index."""

    text: str
    pair: str | None = None
    label: int | None = None


def _read(path: Path):
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"{path}: unsupported file type {path.suffix!r}; use one of {', '.join(sorted(FORMATS))}"
        )
    import datasets

    datasets.disable_progress_bars()
    kwargs: dict = {}
    if fmt == "csv":
        # Keep every cell a string ("NA" is a word). TSV uses standard CSV quoting, as the
        # service's upload validator does: GLUE's RTE quotes fields that contain quotes
        # ("He said ""no""."), and SST-2 has no quote characters at all.
        kwargs = {"keep_default_na": False}
        if path.suffix.lower() == ".tsv":
            kwargs.update(sep="\t")
    logger = logging.getLogger("datasets")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # datasets logs parse failures itself; we raise instead
    try:
        return datasets.load_dataset(fmt, data_files=str(path), split="train", **kwargs)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad file for the user
        root = exc
        while root.__cause__ is not None:
            root = root.__cause__
        msg = str(root).splitlines()[0] if str(root) else type(root).__name__
        if "corresponds to no data" in msg:
            raise DataError(f"{path}: no rows") from exc
        raise DataError(f"{path}: cannot read as {path.suffix[1:].upper()}: {msg}") from exc
    finally:
        logger.setLevel(level)


def _as_text(value) -> str | None:
    """A cell as text: CSV readers turn an all-digit text column into numbers."""
    return value if value is None or isinstance(value, str) else str(value)


def _label(value, labels: list[str] | None, row: int, path: Path) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if labels and text in labels:
            return labels.index(text)
        try:
            value = int(text)
        except ValueError:
            valid = ", ".join(labels) if labels else "integers"
            raise DataError(f"{path} row {row}: unknown label {text!r}; valid: {valid}") from None
    if not isinstance(value, int):
        raise DataError(f"{path} row {row}: label {value!r} is neither an integer nor a name")
    if value < 0:
        return None  # GLUE test splits mark unlabelled rows with -1
    if labels and value >= len(labels):
        raise DataError(f"{path} row {row}: label {value} out of range 0..{len(labels) - 1}")
    return value


def load_examples(
    path: str | Path,
    *,
    text_column: str | None = None,
    pair_column: str | None = None,
    label_column: str | None = None,
    labels: list[str] | None = None,
    limit: int | None = None,
) -> list[Example]:
    """Read a dataset file into ``Example``s; raises ``DataError`` on any bad file or row."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file {str(path)!r} not found")
    ds = _read(path)
    cols = list(ds.column_names)
    if text_column is None:
        for text, pair in TEXT_PAIR_GUESSES:
            if text in cols and (pair is None or pair in cols):
                text_column, pair_column = text, pair_column or pair
                break
    if label_column is None:
        label_column = next((c for c in LABEL_GUESSES if c in cols), None)
    for what, col in (("text", text_column), ("pair", pair_column), ("label", label_column)):
        if what == "text" and col is None:
            raise DataError(
                f"{path}: no text column found among {cols}; name it with --text-column"
            )
        if col is not None and col not in cols:
            raise DataError(f"{path}: no {what} column {col!r}; columns are {cols}")
    if len(ds) == 0:
        raise DataError(f"{path}: no rows")
    n = len(ds) if limit is None else min(len(ds), max(int(limit), 0))
    out: list[Example] = []
    for i, row in enumerate(ds.select(range(n))):
        text = _as_text(row[text_column])
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{path} row {i + 1}: empty text in column {text_column!r}")
        pair = None
        if pair_column is not None:
            pair = _as_text(row[pair_column])
            if not isinstance(pair, str) or not pair.strip():
                raise DataError(f"{path} row {i + 1}: empty text in column {pair_column!r}")
        label = _label(row[label_column], labels, i + 1, path) if label_column else None
        out.append(Example(text=text, pair=pair, label=label))
    return out


def dataset_sha256(path: str | Path) -> str:
    """SHA-256 of the file's bytes (``common.hashing.file_sha256``); DataError when unreadable."""
    try:
        return file_sha256(path)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from exc


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
