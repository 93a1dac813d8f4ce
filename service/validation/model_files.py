"""Validate an uploaded Hugging Face sequence classifier from its files, never loading it.

Safetensors only: pickle-based checkpoints are refused by name and by content sniffing. The
safetensors headers, config.json and tokenizer files are parsed by hand (this package never
imports torch or transformers), so nothing an uploader wrote is executed or deserialised by a
library that could run code.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath

from common.registries import ARCHITECTURE_CLASSES, UNSUPPORTED_ARCHITECTURES
from service.validation.config_shapes import reconcile
from service.validation.errors import UploadRejected
from service.validation.limits import MB, UploadLimits
from service.validation.safetensors_header import TensorInfo, read_safetensors_header
from service.validation.sources import FileSource, content_sha256
from service.validation.tokenizer_files import check_tokenizer, load_json

# model_type -> class-name prefix of its sequence classifier (the architectures attaudit runs).
SUPPORTED_ARCHITECTURES: dict[str, str] = dict(ARCHITECTURE_CLASSES)
UNSUPPORTED_REASONS: dict[str, str] = dict(UNSUPPORTED_ARCHITECTURES)
PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".npy", ".npz"}
JSON_FILES = {
    "config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
    "added_tokens.json", "generation_config.json", "model.safetensors.index.json", "vocab.json",
}
OPAQUE_FILES = {  # accepted; text files and SentencePiece protobufs (parsed by tokenizer_files)
    "vocab.txt", "merges.txt", "README.md", ".gitattributes", "LICENSE",
    "sentencepiece.bpe.model", "spiece.model", "spm.model", "tokenizer.model",
}
PICKLE_MAGIC = tuple(b"\x80" + bytes([p]) for p in range(2, 6))
TORCH_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class ModelManifest:
    """What the service stores about an accepted model."""

    architecture: str            # model_type, e.g. "bert"
    model_class: str             # e.g. "BertForSequenceClassification"
    labels: list[str]            # index -> name (config.id2label)
    num_parameters: int          # from the safetensors shapes
    weight_bytes: int
    num_layers: int
    num_heads: int
    vocab_size: int
    sha256: str                  # content address over the files, see sources.content_sha256
    files: dict[str, int] = field(default_factory=dict)  # path -> bytes

    def to_json(self) -> dict:
        return asdict(self)


def _classify_files(source: FileSource) -> list[str]:
    """Refuse pickles and unknown files; return the safetensors weight files."""
    weights = []
    for path in source.sizes():
        name = PurePosixPath(path)
        if name.suffix.lower() in PICKLE_SUFFIXES:
            raise UploadRejected("pickle_refused", f"{path} is a pickle-based checkpoint; unpickling can run arbitrary code, so only .safetensors weights are accepted")
        if len(name.parts) > 1:
            raise UploadRejected("model_file_unexpected", f"{path} is in a subdirectory; a model upload is one flat directory")
        with source.open(path) as f:
            head = f.read(4)
        if head[:2] in PICKLE_MAGIC or (head == TORCH_ZIP_MAGIC and name.suffix != ".json"):
            raise UploadRejected("pickle_refused", f"{path} starts like a pickle/torch checkpoint; it is refused, never loaded")
        if name.suffix == ".safetensors":
            weights.append(path)
        elif path not in JSON_FILES | OPAQUE_FILES:
            raise UploadRejected("model_file_unexpected", f"{path} is not a file of a safetensors model directory (config, weights, tokenizer)")
    if not weights:
        raise UploadRejected("model_weights_missing", "no .safetensors weights found; upload the directory written by save_pretrained(safe_serialization=True)")
    return sorted(weights)


def _labels(config: dict) -> list[str]:
    id2label = config.get("id2label")
    if id2label is None:
        return ["LABEL_0", "LABEL_1"]  # the transformers default (num_labels=2)
    if not isinstance(id2label, dict) or not id2label:
        raise UploadRejected("config_invalid", "config.json id2label must be a non-empty object")
    try:
        pairs = sorted((int(k), v) for k, v in id2label.items())
    except (TypeError, ValueError):
        raise UploadRejected("config_invalid", "config.json id2label keys must be integers") from None
    labels = [v for _, v in pairs]
    if [k for k, _ in pairs] != list(range(len(pairs))) or not all(isinstance(v, str) and v for v in labels):
        raise UploadRejected("config_invalid", "config.json id2label must map 0..n-1 to non-empty names")
    if len(set(labels)) != len(labels):
        raise UploadRejected("config_invalid", f"config.json id2label repeats a label name: {labels}")
    if "num_labels" in config and config["num_labels"] != len(labels):
        raise UploadRejected("config_invalid", f"config.json num_labels={config['num_labels']} but id2label has {len(labels)}")
    return labels


def _check_config(config: dict) -> tuple[str, str]:
    if "auto_map" in config or config.get("trust_remote_code"):
        raise UploadRejected("remote_code_refused", "config.json asks for custom model code (auto_map / trust_remote_code); uploaded code is never run")
    model_type = config.get("model_type")
    if model_type not in SUPPORTED_ARCHITECTURES:
        why = UNSUPPORTED_REASONS.get(str(model_type), f"model_type {model_type!r} is not supported")
        raise UploadRejected("unsupported_architecture", f"{why}; supported: {', '.join(SUPPORTED_ARCHITECTURES)}")
    if model_type == "modernbert" and config.get("classifier_pooling", "cls") not in ("cls", "mean"):
        raise UploadRejected("config_invalid", f"config.json classifier_pooling={config.get('classifier_pooling')!r}; ModernBERT pools with 'cls' or 'mean'")
    expected = f"{SUPPORTED_ARCHITECTURES[model_type]}ForSequenceClassification"
    archs = config.get("architectures")
    if not isinstance(archs, list) or archs != [expected]:
        raise UploadRejected("unsupported_architecture", f"architectures is {archs!r}; a {model_type} sequence classifier must declare [{expected!r}]")
    return model_type, expected


def _int_field(config: dict, *names: str) -> int:
    for name in names:
        value = config.get(name)
        if type(value) is int and value > 0:
            return value
    raise UploadRejected("config_invalid", f"config.json needs a positive integer {' or '.join(names)}")


def _weights(source: FileSource, files: list[str], limits: UploadLimits) -> tuple[int, int, list[TensorInfo]]:
    sizes = source.sizes()
    if "model.safetensors.index.json" in sizes:
        index = load_json(source, "model.safetensors.index.json", 64 * MB, "safetensors_header_invalid")
        shards = set((index.get("weight_map") or {}).values())
        if shards != set(files):
            raise UploadRejected("safetensors_header_invalid", f"the shard index lists {sorted(shards)} but the upload holds {files}")
    names: set[str] = set()
    every: list[TensorInfo] = []
    params = nbytes = 0
    for path in files:
        with source.open(path) as f:
            tensors = read_safetensors_header(f, sizes[path], path, limits.max_safetensors_header_bytes)
        for t in tensors:
            if t.name in names:
                raise UploadRejected("safetensors_header_invalid", f"tensor {t.name!r} appears in two weight files")
            names.add(t.name)
            every.append(t)
            params += math.prod(t.shape)
            nbytes += t.end - t.begin
    if nbytes > limits.max_model_bytes or params > limits.max_parameters:
        raise UploadRejected("model_too_large", f"the model has {params} parameters ({nbytes} bytes); the limit is {limits.max_parameters} parameters / {limits.max_model_bytes} bytes")
    return params, nbytes, every


def validate_model_files(source: FileSource, limits: UploadLimits) -> ModelManifest:
    """Check every file of a model directory; return its manifest or raise ``UploadRejected``."""
    weights = _classify_files(source)
    if "config.json" not in source.sizes():
        raise UploadRejected("config_missing", "config.json is missing; it describes the architecture and labels")
    config = load_json(source, "config.json", 1 * MB, "config_invalid")
    model_type, model_class = _check_config(config)
    labels = _labels(config)
    vocab_size = _int_field(config, "vocab_size")
    check_tokenizer(source, vocab_size, limits)
    params, nbytes, tensors = _weights(source, weights, limits)
    dims = reconcile(config, model_type, labels, tensors, limits)
    return ModelManifest(
        architecture=model_type,
        model_class=model_class,
        labels=labels,
        num_parameters=params,
        weight_bytes=nbytes,
        num_layers=dims.layers,
        num_heads=dims.heads,
        vocab_size=vocab_size,
        sha256=content_sha256(source),
        files=dict(sorted(source.sizes().items())),
    )
