"""Child process: load an uploaded tokenizer with the Rust ``tokenizers`` library and encode a few
probe texts, under an address-space and CPU-time limit. Run as
``python -m service.validation.tokenizer_child DIR MEMORY_BYTES CPU_SECONDS``.

It imports ``tokenizers`` only (never transformers or torch) and prints one JSON line on
success. Any failure (a Python error, a Rust panic, which is a ``BaseException``, a signal, the
memory or time limit) ends the process with a non-zero status that the parent
(``service.validation.tokenizer_probe``) turns into a ``tokenizer_load_failed`` refusal; the
tokenizer never reaches a worker. The probe texts cover what the audit feeds a tokenizer:
ASCII, accents, CJK, emoji, control and combining characters, empty and long texts, pairs.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path

PROBE_TEXTS = [
    "a", "the movie was great .", "Ünïcödé façade naïve", "日本語のテキスト", "emoji 😀👍🏽 text",
    "tab\tnew\nline\r\x0b\x0c", "combining e\u0301 a\u0308", "\u200b\u200d\ufeff", " ", "",
    "word " * 600, "[CLS] [SEP] <s> </s> <pad> [MASK]", "1234567890 $%&/()=?",
    "this is a perfectly ordinary review of a film , and it ends with punctuation !",
]


def _limit(memory_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _load(root: Path):  # noqa: ANN202
    from tokenizers import Tokenizer
    from tokenizers.implementations import BertWordPieceTokenizer, ByteLevelBPETokenizer

    if (root / "tokenizer.json").is_file():
        return Tokenizer.from_file(str(root / "tokenizer.json")), "tokenizer.json"
    if (root / "vocab.txt").is_file():
        return BertWordPieceTokenizer(str(root / "vocab.txt")), "vocab.txt"
    if (root / "vocab.json").is_file() and (root / "merges.txt").is_file():
        return ByteLevelBPETokenizer(str(root / "vocab.json"), str(root / "merges.txt")), "vocab.json+merges.txt"
    return None, "none"


def main(argv: list[str]) -> int:
    root, memory, cpu = Path(argv[0]), int(argv[1]), int(argv[2])
    os.environ["RAYON_NUM_THREADS"] = "1"
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    _limit(memory, cpu)
    tok, kind = _load(root)
    if tok is None:
        print(json.dumps({"ok": True, "loaded": kind, "encoded": 0}))
        return 0
    n = 0
    for text in PROBE_TEXTS:
        tok.encode(text)
        tok.encode(text, "second text of a pair")
        n += 2
    tok.encode_batch(PROBE_TEXTS)
    print(json.dumps({"ok": True, "loaded": kind, "encoded": n + len(PROBE_TEXTS),
                      "vocab_size": tok.get_vocab_size()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
