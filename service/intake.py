"""Upload checks the routers call: one function per upload kind (model archive, dataset file).

Interim implementation written by the service branch until ``service/validation/`` (the
reliability branch) lands; the routers only see ``check_model_archive``,
``check_model_dir``, ``check_dataset_file``, ``UploadRejected`` and the manifests, so the
switch is local to this module. Never unpickles anything: weights must be safetensors and
only their JSON headers are read.
"""

from __future__ import annotations

import csv
import io
import json
import stat
import struct
import tarfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from service.settings import Settings

SUPPORTED_ARCHS = ("bert", "roberta", "distilbert", "electra", "xlm-roberta")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".h5", ".msgpack")
DATASET_FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".parquet": "parquet"}


class UploadRejected(Exception):
    """A refused upload: stable ``code``, HTTP ``status``, one-sentence message."""

    input_error = True

    def __init__(self, code: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code, self.status = code, status


@dataclass(frozen=True)
class Limits:
    max_members: int
    max_total_bytes: int
    max_ratio: float
    max_rows: int
    max_dataset_bytes: int


def limits_from_settings(s: Settings) -> Limits:
    return Limits(max_members=s.max_archive_members,
                  max_total_bytes=int(s.max_uncompressed_mb * 1024 * 1024),
                  max_ratio=s.max_compression_ratio, max_rows=s.max_dataset_rows,
                  max_dataset_bytes=int(s.max_upload_mb * 1024 * 1024))


@dataclass
class ModelManifest:
    architecture: str
    labels: list[str]
    num_parameters: int
    num_layers: int
    num_heads: int


@dataclass
class ColumnMapping:
    text_column: str | None = None
    pair_column: str | None = None
    label_column: str | None = None


@dataclass
class DatasetManifest:
    format: str
    rows: int
    text_column: str
    pair_column: str | None
    label_column: str | None
    label_counts: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------- archives
def _safe_name(name: str) -> PurePosixPath:
    if not name or "\0" in name:
        raise UploadRejected("archive_bad_name", "An archive member has an empty or NUL name.", 400)
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise UploadRejected("archive_absolute_path", f"Archive member {name!r} has an absolute path.", 400)
    if ".." in p.parts:
        raise UploadRejected("archive_path_traversal", f"Archive member {name!r} contains '..'.", 400)
    return p


def _members(archive: Path, filename: str, limits: Limits) -> tuple[str, list[tuple[PurePosixPath, int]]]:
    """Check every member's kind and name, the count, total size and ratio; list regular files."""
    lower = filename.lower()
    files: list[tuple[PurePosixPath, int]] = []
    if lower.endswith(".zip") and zipfile.is_zipfile(archive):
        kind = "zip"
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_members:
                raise UploadRejected("archive_too_many_members",
                                     f"The archive has {len(infos)} members; the limit is {limits.max_members}.", 413)
            for info in infos:
                p = _safe_name(info.filename)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise UploadRejected("archive_link", f"Archive member {info.filename!r} is a link.", 400)
                if mode and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                    raise UploadRejected("archive_special_file", f"Archive member {info.filename!r} is not a regular file.", 400)
                if not info.is_dir():
                    files.append((p, info.file_size))
    elif lower.endswith((".tar.gz", ".tgz")) and tarfile.is_tarfile(archive):
        kind = "tar"
        with tarfile.open(archive, "r:gz") as tf:
            count = 0
            for m in tf:
                count += 1
                if count > limits.max_members:
                    raise UploadRejected("archive_too_many_members",
                                         f"The archive has more than {limits.max_members} members.", 413)
                p = _safe_name(m.name)
                if m.issym() or m.islnk():
                    raise UploadRejected("archive_link", f"Archive member {m.name!r} is a link.", 400)
                if not (m.isfile() or m.isdir()):
                    raise UploadRejected("archive_special_file", f"Archive member {m.name!r} is not a regular file.", 400)
                if m.isfile():
                    files.append((p, m.size))
    else:
        raise UploadRejected("archive_format", "The model must be a .zip or .tar.gz archive.", 415)
    total = sum(size for _, size in files)
    if total > limits.max_total_bytes:
        raise UploadRejected("archive_too_large",
                             f"The archive unpacks to {total} bytes; the limit is {limits.max_total_bytes}.", 413)
    compressed = max(1, archive.stat().st_size)
    if total > 1024 * 1024 and total / compressed > limits.max_ratio:
        raise UploadRejected("archive_bomb",
                             f"The compression ratio {total / compressed:.0f} exceeds {limits.max_ratio:.0f}.", 413)
    return kind, files


def _strip_top(files: list[tuple[PurePosixPath, int]]) -> int:
    """Depth of a single top-level folder shared by every file (model.zip/model/config.json)."""
    tops = {p.parts[0] for p, _ in files if len(p.parts) > 1}
    return 1 if len(tops) == 1 and all(len(p.parts) > 1 for p, _ in files) else 0


def check_model_archive(archive: Path, filename: str, dest: Path, limits: Limits) -> ModelManifest:
    """Validate members, then extract regular files only (sizes re-checked) into ``dest``."""
    kind, files = _members(archive, filename, limits)
    strip = _strip_top(files)
    wanted = {p: PurePosixPath(*p.parts[strip:]) for p, _ in files}
    for src in wanted.values():
        if src.name.lower().endswith(PICKLE_SUFFIXES):
            raise UploadRejected("pickle_refused",
                                 f"{src} is a pickle-based checkpoint; upload safetensors weights.", 422)
    dest.mkdir(parents=True)
    budget = limits.max_total_bytes
    opener = zipfile.ZipFile(archive) if kind == "zip" else tarfile.open(archive, "r:gz")
    with opener as arc:
        for p, _ in files:
            out = dest / wanted[p]
            out.parent.mkdir(parents=True, exist_ok=True)
            fh = arc.open(str(p)) if kind == "zip" else arc.extractfile(str(p))  # type: ignore[union-attr]
            with fh as src_fh, open(out, "wb") as dst_fh:
                while chunk := src_fh.read(1 << 20):
                    budget -= len(chunk)
                    if budget < 0:  # sizes in headers can lie
                        raise UploadRejected("archive_too_large", "The archive unpacks to more than the limit.", 413)
                    dst_fh.write(chunk)
    return check_model_dir(dest, limits)


def _safetensors_params(path: Path) -> int:
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise UploadRejected("safetensors_header_invalid", f"{path.name} is not a safetensors file.", 422)
        (n,) = struct.unpack("<Q", head)
        if n > 100 * 1024 * 1024 or n > path.stat().st_size - 8:
            raise UploadRejected("safetensors_header_invalid", f"{path.name} has an invalid header length.", 422)
        try:
            header = json.loads(f.read(n))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise UploadRejected("safetensors_header_invalid", f"{path.name} has a malformed header.", 422) from None
    total = 0
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(spec, dict) or not isinstance(spec.get("shape"), list):
            raise UploadRejected("safetensors_header_invalid", f"{path.name}: bad entry {name!r}.", 422)
        count = 1
        for d in spec["shape"]:
            count *= int(d)
        total += count
    return total


def check_model_dir(root: Path, limits: Limits) -> ModelManifest:
    """Config describes a supported sequence classifier; weights are safetensors; tokenizer present."""
    for p in root.rglob("*"):
        if p.is_symlink() or (p.exists() and not (p.is_file() or p.is_dir())):
            raise UploadRejected("archive_special_file", f"{p.name} is not a regular file.", 400)
        if p.name.lower().endswith(PICKLE_SUFFIXES):
            raise UploadRejected("pickle_refused", f"{p.name} is a pickle-based checkpoint; upload safetensors.", 422)
    cfg_path = root / "config.json"
    if not cfg_path.is_file():
        raise UploadRejected("config_missing", "The model has no config.json at its top level.", 422)
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UploadRejected("config_invalid", "config.json is not valid JSON.", 422) from None
    if not isinstance(cfg, dict):
        raise UploadRejected("config_invalid", "config.json is not a JSON object.", 422)
    if "auto_map" in cfg:
        raise UploadRejected("remote_code_refused", "The config asks for custom code (auto_map).", 422)
    arch = cfg.get("model_type")
    archs = cfg.get("architectures") or []
    if arch not in SUPPORTED_ARCHS or not any(str(a).endswith("ForSequenceClassification") for a in archs):
        raise UploadRejected("unsupported_architecture",
                             f"The config describes {arch!r} {archs}; supported are sequence classifiers "
                             f"of type {', '.join(SUPPORTED_ARCHS)}.", 422)
    weights = sorted(root.glob("*.safetensors"))
    if not weights:
        raise UploadRejected("model_weights_missing", "The model has no .safetensors weights.", 422)
    if not any((root / n).is_file() for n in ("tokenizer.json", "vocab.txt", "vocab.json")):
        raise UploadRejected("tokenizer_missing", "The model has no tokenizer files.", 422)
    id2label = cfg.get("id2label") or {}
    try:
        labels = [str(id2label[k]) for k in sorted(id2label, key=int)]
    except (ValueError, TypeError):
        raise UploadRejected("config_invalid", "config.json id2label keys are not integers.", 422) from None
    if not labels:
        labels = [f"LABEL_{i}" for i in range(int(cfg.get("num_labels", 2)))]
    layers = cfg.get("num_hidden_layers", cfg.get("n_layers"))
    heads = cfg.get("num_attention_heads", cfg.get("n_heads"))
    if not isinstance(layers, int) or not isinstance(heads, int):
        raise UploadRejected("config_invalid", "config.json lacks the layer or head count.", 422)
    params = sum(_safetensors_params(w) for w in weights)
    return ModelManifest(architecture=arch, labels=labels, num_parameters=params,
                         num_layers=layers, num_heads=heads)


# ---------------------------------------------------------------------------- datasets
_TEXT_GUESSES = ("text", "sentence", "sentence1", "question", "premise", "review")
_PAIR_GUESSES = ("sentence2", "text_pair", "hypothesis", "question2")
_LABEL_GUESSES = ("label", "labels", "gold_label")


def _read_rows(path: Path, fmt: str, limits: Limits) -> tuple[list[str], list[dict]]:
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq

            table = pq.read_table(path)
        except Exception:  # noqa: BLE001 - any parse failure is a malformed upload
            raise UploadRejected("dataset_malformed", "The Parquet file cannot be read.", 400) from None
        if table.num_rows > limits.max_rows:
            raise UploadRejected("dataset_too_many_rows",
                                 f"The dataset has {table.num_rows} rows; the limit is {limits.max_rows}.", 413)
        return list(table.column_names), table.to_pylist()
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadRejected("dataset_encoding", f"The dataset is not valid UTF-8 (byte {exc.start}).", 400) from None
    rows: list[dict] = []
    if fmt == "jsonl":
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                raise UploadRejected("dataset_malformed", f"Line {i} is not valid JSON.", 400) from None
            if not isinstance(obj, dict):
                raise UploadRejected("dataset_malformed", f"Line {i} is not a JSON object.", 400)
            rows.append(obj)
            if len(rows) > limits.max_rows:
                raise UploadRejected("dataset_too_many_rows", f"The dataset has more than {limits.max_rows} rows.", 413)
        columns = list(dict.fromkeys(k for r in rows[:1000] for k in r))
        return columns, rows
    reader = csv.DictReader(io.StringIO(text), delimiter="\t" if fmt == "tsv" else ",",
                            quoting=csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL)
    columns = list(reader.fieldnames or [])
    try:
        for i, row in enumerate(reader, 2):
            if None in row or any(v is None for v in row.values()):
                raise UploadRejected("dataset_malformed", f"Line {i} has the wrong number of fields.", 400)
            rows.append(row)
            if len(rows) > limits.max_rows:
                raise UploadRejected("dataset_too_many_rows", f"The dataset has more than {limits.max_rows} rows.", 413)
    except csv.Error as exc:
        raise UploadRejected("dataset_malformed", f"The file cannot be parsed: {exc}.", 400) from None
    return columns, rows


def _pick(columns: list[str], given: str | None, guesses: tuple[str, ...], what: str, required: bool) -> str | None:
    if given is not None:
        if given not in columns:
            raise UploadRejected("dataset_column_missing",
                                 f"The {what} column {given!r} is not in the file (columns: {', '.join(columns)}).", 422)
        return given
    found = next((c for c in guesses if c in columns), None)
    if found is None and required:
        raise UploadRejected("dataset_column_missing",
                             f"No {what} column given and none of {', '.join(guesses)} found "
                             f"(columns: {', '.join(columns)}).", 422)
    return found


def check_dataset_file(path: Path, filename: str, mapping: ColumnMapping, labels: list[str] | None,
                       limits: Limits) -> DatasetManifest:
    """Format from the extension; UTF-8; mapped columns exist; labels within the model's."""
    suffix = "." + filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    fmt = DATASET_FORMATS.get(suffix)
    if fmt is None:
        raise UploadRejected("dataset_format", "The dataset must be a .csv, .tsv, .jsonl or .parquet file.", 415)
    if path.stat().st_size > limits.max_dataset_bytes:
        raise UploadRejected("dataset_too_large", "The dataset file is larger than allowed.", 413)
    columns, rows = _read_rows(path, fmt, limits)
    if not rows:
        raise UploadRejected("dataset_empty", "The dataset has no rows.", 422)
    text_col = _pick(columns, mapping.text_column, _TEXT_GUESSES, "text", True)
    pair_col = _pick(columns, mapping.pair_column, _PAIR_GUESSES if mapping.text_column is None else (), "pair", False)
    label_col = _pick(columns, mapping.label_column, _LABEL_GUESSES, "label", False)
    counts: Counter[str] = Counter()
    for i, row in enumerate(rows):
        if not isinstance(row.get(text_col), str):
            raise UploadRejected("dataset_malformed", f"Row {i + 1}: the text is not a string.", 400)
        if label_col is None:
            continue
        raw = row.get(label_col)
        name = str(raw).strip() if raw is not None else ""
        if labels is not None:
            if name in labels:
                pass
            elif name.lstrip("-").isdigit() and 0 <= int(name) < len(labels):
                name = labels[int(name)]
            else:
                raise UploadRejected("dataset_label_unknown",
                                     f"Row {i + 1}: label {name!r} is not one of the model's labels "
                                     f"({', '.join(labels)}).", 422)
        counts[name] += 1
    return DatasetManifest(format=fmt, rows=len(rows), text_column=text_col, pair_column=pair_col,
                           label_column=label_col, label_counts=dict(sorted(counts.items())))


