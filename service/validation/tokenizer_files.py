"""Check the tokenizer files of an uploaded model by parsing them (never by loading them).

Accepted layouts, as ``save_pretrained`` writes them: ``tokenizer.json`` (fast tokenizers,
any model), ``vocab.txt`` (WordPiece: BERT, DistilBERT, ELECTRA), ``vocab.json`` + ``merges.txt``
(byte-level BPE: RoBERTa), and SentencePiece model files (``spm.model``: DeBERTa-v2/v3;
``sentencepiece.bpe.model``: XLM-R; ``spiece.model``), which are protobuf ``ModelProto``
messages - not pickles - walked here with a hand-written wire-format reader (no protobuf or
sentencepiece import, nothing executed). ModernBERT ships a byte-level BPE ``tokenizer.json``.
Every token id must index the model's embedding table (``config.vocab_size``), and a vocabulary
above ``max_vocab_size`` is refused as absurd.
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


SENTENCEPIECE_FILES = ("spm.model", "sentencepiece.bpe.model", "spiece.model")


def _varint(buf: bytes, pos: int, path: str) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise UploadRejected("tokenizer_invalid", f"{path} is not a SentencePiece model (truncated varint)")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _proto_fields(buf: bytes, path: str):
    """(field number, wire type, value) of one protobuf message; value is bytes for
    length-delimited fields, an int otherwise. Groups (wire types 3/4) are refused."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos, path)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise UploadRejected("tokenizer_invalid", f"{path} is not a SentencePiece model (field number 0)")
        if wire == 0:
            value, pos = _varint(buf, pos, path)
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if pos + width > len(buf):
                raise UploadRejected("tokenizer_invalid", f"{path} is not a SentencePiece model (truncated)")
            value, pos = int.from_bytes(buf[pos:pos + width], "little"), pos + width
        elif wire == 2:
            size, pos = _varint(buf, pos, path)
            if pos + size > len(buf):
                raise UploadRejected("tokenizer_invalid", f"{path} is not a SentencePiece model (a field runs past the end)")
            value, pos = buf[pos:pos + size], pos + size
        else:
            raise UploadRejected("tokenizer_invalid", f"{path} is not a SentencePiece model (wire type {wire})")
        yield field, wire, value


def _sentencepiece(source: FileSource, path: str, vocab_size: int, limits: UploadLimits) -> int:
    """Count the pieces of a SentencePiece ``ModelProto`` (field 1: repeated ``SentencePiece``
    whose field 1 is the piece text); every piece must be UTF-8 and the model non-empty."""
    buf = read_all(source, path, limits.max_json_bytes)
    pieces = 0
    for field, wire, value in _proto_fields(buf, path):
        if field != 1:
            continue
        if wire != 2:
            raise UploadRejected("tokenizer_invalid", f"{path} is not a SentencePiece model (pieces are not messages)")
        text = [v for f, w, v in _proto_fields(value, path) if f == 1 and w == 2]
        if len(text) != 1:
            raise UploadRejected("tokenizer_invalid", f"{path}: piece {pieces} has no text")
        try:
            text[0].decode("utf-8")
        except UnicodeDecodeError:
            raise UploadRejected("tokenizer_invalid", f"{path}: piece {pieces} is not UTF-8") from None
        pieces += 1
    _check_size(path, pieces, pieces - 1, vocab_size, limits)
    return pieces


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
    for name in SENTENCEPIECE_FILES:
        if name in files:
            sizes.append(_sentencepiece(source, name, vocab_size, limits))
    if not sizes:
        raise UploadRejected("tokenizer_missing", "no tokenizer files: expected tokenizer.json, vocab.txt, vocab.json with merges.txt, or a SentencePiece spm.model")
    return max(sizes)
