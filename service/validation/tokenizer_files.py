"""Check the tokenizer files of an uploaded model by parsing them (never by loading them).

Accepted layouts, as ``save_pretrained`` writes them: ``tokenizer.json`` (fast tokenizers,
any model), ``vocab.txt`` (WordPiece: BERT, DistilBERT, ELECTRA), ``vocab.json`` + ``merges.txt``
(byte-level BPE: RoBERTa). Every token id must index the model's embedding table
(``config.vocab_size``), and a vocabulary above ``max_vocab_size`` is refused as absurd.
"""

from __future__ import annotations

import json

from service.validation.errors import UploadRejected
from service.validation.limits import UploadLimits
from service.validation.sources import FileSource, read_all


def load_json(source: FileSource, path: str, limit: int, code: str) -> dict:
    """A JSON object from ``path``; anything else is refused with ``code``."""
    try:
        value = json.loads(read_all(source, path, limit).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise UploadRejected(code, f"{path} is not valid UTF-8 JSON: {e}") from None
    if not isinstance(value, dict):
        raise UploadRejected(code, f"{path} must hold a JSON object, not {type(value).__name__}")
    return value


def _text_lines(source: FileSource, path: str, limits: UploadLimits) -> list[str]:
    try:
        text = read_all(source, path, limits.max_json_bytes).decode("utf-8")
    except UnicodeDecodeError as e:
        raise UploadRejected("tokenizer_invalid", f"{path} is not UTF-8: {e}") from None
    return text.splitlines()


def _check_size(path: str, size: int, max_id: int, vocab_size: int, limits: UploadLimits) -> None:
    if size > limits.max_vocab_size:
        raise UploadRejected("tokenizer_vocab_too_large", f"{path} has {size} tokens; more than {limits.max_vocab_size} is not a real vocabulary")
    if size == 0:
        raise UploadRejected("tokenizer_invalid", f"{path} has an empty vocabulary")
    if max_id >= vocab_size:
        raise UploadRejected("tokenizer_invalid", f"{path} uses token id {max_id} but the model's embedding table has only {vocab_size} rows")


def _tokenizer_json(source: FileSource, vocab_size: int, limits: UploadLimits) -> int:
    tok = load_json(source, "tokenizer.json", limits.max_json_bytes, "tokenizer_invalid")
    model = tok.get("model")
    if not isinstance(model, dict) or "vocab" not in model:
        raise UploadRejected("tokenizer_invalid", "tokenizer.json has no model.vocab")
    vocab = model["vocab"]
    if isinstance(vocab, dict):  # WordPiece / BPE / WordLevel: token -> id
        ids = list(vocab.values())
    elif isinstance(vocab, list):  # Unigram: [[piece, score], ...], id = position
        ids = list(range(len(vocab)))
    else:
        raise UploadRejected("tokenizer_invalid", "tokenizer.json model.vocab is neither a map nor a list")
    if not all(type(i) is int and i >= 0 for i in ids):
        raise UploadRejected("tokenizer_invalid", "tokenizer.json has a token id that is not a non-negative integer")
    added = tok.get("added_tokens") or []
    if not isinstance(added, list) or not all(isinstance(a, dict) and type(a.get("id")) is int for a in added):
        raise UploadRejected("tokenizer_invalid", "tokenizer.json added_tokens must be a list of objects with integer ids")
    all_ids = set(ids) | {a["id"] for a in added}
    _check_size("tokenizer.json", len(all_ids), max(all_ids, default=0), vocab_size, limits)
    return len(all_ids)


def _vocab_txt(source: FileSource, vocab_size: int, limits: UploadLimits) -> int:
    lines = _text_lines(source, "vocab.txt", limits)
    _check_size("vocab.txt", len(lines), len(lines) - 1, vocab_size, limits)
    return len(lines)


def _bpe_files(source: FileSource, vocab_size: int, limits: UploadLimits) -> int:
    vocab = load_json(source, "vocab.json", limits.max_json_bytes, "tokenizer_invalid")
    if not all(type(i) is int and i >= 0 for i in vocab.values()):
        raise UploadRejected("tokenizer_invalid", "vocab.json must map tokens to non-negative integer ids")
    _check_size("vocab.json", len(vocab), max(vocab.values(), default=0), vocab_size, limits)
    for n, line in enumerate(_text_lines(source, "merges.txt", limits), start=1):
        if line.startswith("#version") or not line.strip():
            continue
        if len(line.split(" ")) != 2:
            raise UploadRejected("tokenizer_invalid", f"merges.txt line {n} is not two tokens separated by a space")
    return len(vocab)


def check_tokenizer(source: FileSource, vocab_size: int, limits: UploadLimits) -> int:
    """Validate the tokenizer files present; returns the vocabulary size."""
    files = source.sizes()
    if "tokenizer_config.json" in files:
        cfg = load_json(source, "tokenizer_config.json", limits.max_json_bytes, "tokenizer_invalid")
        if "auto_map" in cfg or cfg.get("trust_remote_code"):
            raise UploadRejected("remote_code_refused", "tokenizer_config.json names custom tokenizer code (auto_map); uploaded code is never run")
    for extra in ("special_tokens_map.json", "added_tokens.json"):
        if extra in files:
            load_json(source, extra, limits.max_json_bytes, "tokenizer_invalid")
    sizes: list[int] = []
    if "tokenizer.json" in files:
        sizes.append(_tokenizer_json(source, vocab_size, limits))
    if "vocab.txt" in files:
        sizes.append(_vocab_txt(source, vocab_size, limits))
    if "vocab.json" in files or "merges.txt" in files:
        if not ("vocab.json" in files and "merges.txt" in files):
            raise UploadRejected("tokenizer_invalid", "a BPE tokenizer needs both vocab.json and merges.txt")
        sizes.append(_bpe_files(source, vocab_size, limits))
    if not sizes:
        raise UploadRejected("tokenizer_missing", "no tokenizer files: expected tokenizer.json, vocab.txt, or vocab.json with merges.txt")
    return max(sizes)
