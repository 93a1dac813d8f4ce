"""Load a Hugging Face sequence classifier and its tokenizer, safely.

Safetensors only (a pickled checkpoint is refused and never deserialized),
``trust_remote_code=False`` always, eager attention (the only implementation that materialises
attention probabilities, which AttAttr needs), CUDA when present else CPU.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from attribution.errors import AttributionInputError, ModelLoadError
from common.hashing import model_dir_sha256
from common.registries import ARCHITECTURES, UNSUPPORTED_ARCHITECTURES

# config.model_type -> architecture name used throughout attaudit (common.registries).
SUPPORTED_ARCHITECTURES: dict[str, str] = {name: name for name in ARCHITECTURES}
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".h5", ".msgpack")
# The first seven are vocabularies (one must be present); spm.model is DeBERTa-v2/v3's
# SentencePiece model, a protobuf (parsed, never unpickled).
TOKENIZER_FILES = (
    "tokenizer.json", "vocab.txt", "vocab.json", "merges.txt", "sentencepiece.bpe.model",
    "spiece.model", "spm.model", "tokenizer_config.json", "special_tokens_map.json",
)
_VOCAB_FILES = TOKENIZER_FILES[:7]
HUB_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model"]


def pick_device(preferred: str | torch.device | None = None) -> torch.device:
    """CUDA when present, else CPU; ``preferred`` ("cpu", "cuda", "cuda:1") overrides."""
    if preferred is None or str(preferred) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(preferred)
    except (RuntimeError, TypeError) as exc:
        raise AttributionInputError(f"unknown device {preferred!r}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise AttributionInputError(f"device {preferred!r} requested but CUDA is not available")
    return device


@dataclass
class LoadedClassifier:
    """A classifier ready for attribution: eval mode, on ``device``, eager attention."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    labels: list[str]  # index -> name, from config.id2label
    device: torch.device
    architecture: str  # a SUPPORTED_ARCHITECTURES value, e.g. "bert", "deberta-v2", "modernbert"
    source: str
    sha256: str  # common.hashing.model_dir_sha256 of the folder (the one model hash)
    num_layers: int
    num_heads: int


def _resolve_source(source: str | Path) -> Path:
    """A local directory, or a hub id downloaded (safetensors and text files only)."""
    path = Path(source).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"model path {str(source)!r} is a file; give the model directory")
        return path
    text = str(source)
    looks_local = text.startswith((".", "/", "~")) or text.count("/") > 1 or "\\" in text
    if looks_local or not text.strip():
        raise ModelLoadError(f"model directory {text!r} not found")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(text, allow_patterns=HUB_PATTERNS))
    except Exception as exc:  # noqa: BLE001 - any hub failure is a load error for the user
        raise ModelLoadError(
            f"model {text!r} is not a local directory and could not be fetched from the hub "
            f"({type(exc).__name__})"
        ) from exc


def _check_weights(path: Path) -> None:
    if any(path.glob("*.safetensors")):
        return
    pickled = sorted(p.name for p in path.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickled:
        raise ModelLoadError(
            f"refusing to load pickled checkpoint {', '.join(pickled)} in {path}: attaudit only "
            "loads safetensors weights (convert with `save_pretrained(safe_serialization=True)` "
            "in a trusted environment)"
        )
    raise ModelLoadError(f"no model weights (*.safetensors) in {path}")


def _check_config(path: Path):
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"no config.json in {path}: not a Hugging Face model directory")
    try:
        raw = json.loads((path / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"unreadable config.json in {path}: {exc}") from exc
    model_type = raw.get("model_type") if isinstance(raw, dict) else None
    if model_type not in SUPPORTED_ARCHITECTURES:
        why = UNSUPPORTED_ARCHITECTURES.get(str(model_type), f"unsupported architecture {model_type!r}")
        raise ModelLoadError(
            f"{why} in {path}; supported: "
            f"{', '.join(sorted(SUPPORTED_ARCHITECTURES))}"
        )
    archs = raw.get("architectures") or []
    if not any(str(a).endswith("ForSequenceClassification") for a in archs):
        raise ModelLoadError(
            f"{path} holds {', '.join(archs) or 'a model without a task head'}, not a sequence "
            "classifier (expected *ForSequenceClassification in config.json `architectures`)"
        )
    try:
        return AutoConfig.from_pretrained(path, trust_remote_code=False)
    except Exception as exc:  # noqa: BLE001
        raise ModelLoadError(f"invalid config.json in {path}: {exc}") from exc


@contextmanager
def _quiet_progress() -> Iterator[None]:
    """Transformers' own progress bars off while loading (restored afterwards)."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def load_classifier(
    source: str | Path, *, device: str | torch.device | None = None
) -> LoadedClassifier:
    """Load a sequence classifier + tokenizer from a local directory or a hub id.

    Raises ``ModelLoadError`` (an ``AttributionInputError``) for a missing directory, a pickled
    checkpoint, a missing tokenizer, a config that is not a sequence classifier, an
    unsupported architecture, or missing classifier weights.
    """
    path = _resolve_source(source)
    config = _check_config(path)
    _check_weights(path)
    if not any((path / name).is_file() for name in _VOCAB_FILES):
        raise ModelLoadError(f"no tokenizer files in {path} (expected tokenizer.json or a vocab)")
    dev = pick_device(device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
    except Exception as exc:  # noqa: BLE001
        raise ModelLoadError(f"cannot load the tokenizer in {path}: {exc}") from exc
    try:
        with _quiet_progress():  # transformers 5 draws a "Loading weights" bar on stderr
            model, info = AutoModelForSequenceClassification.from_pretrained(
                path,
                config=config,
                use_safetensors=True,
                trust_remote_code=False,
                attn_implementation="eager",
                output_loading_info=True,
            )
    except Exception as exc:  # noqa: BLE001
        raise ModelLoadError(f"cannot load the model in {path}: {exc}") from exc
    missing = list(info.get("missing_keys") or [])
    if missing:
        raise ModelLoadError(
            f"the checkpoint in {path} lacks weights {', '.join(sorted(missing)[:4])}: "
            "not a trained sequence classifier"
        )
    if config.model_type == "modernbert":
        # ModernBERT may torch.compile its MLP/embeddings on CUDA (reference_compile): off, so
        # every forward (hooked, batched, differentiated) runs the same eager code on any device.
        model.config.reference_compile = False
    model.eval().to(dev)
    n = int(config.num_labels)
    id2label = {int(k): str(v) for k, v in (config.id2label or {}).items()}
    return LoadedClassifier(
        model=model,
        tokenizer=tokenizer,
        labels=[id2label.get(i, f"LABEL_{i}") for i in range(n)],
        device=dev,
        architecture=SUPPORTED_ARCHITECTURES[config.model_type],
        source=str(source),
        sha256=model_dir_sha256(path),
        num_layers=int(config.num_hidden_layers),
        num_heads=int(config.num_attention_heads),
    )
