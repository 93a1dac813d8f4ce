"""Saved models whose tokenizer makes the Rust ``tokenizers`` library panic, built by the tests.

Both start from the tiny BERT (``tests.tiny_models``) and change only ``tokenizer.json``:

- ``load``: the normalizer is ``Precompiled`` with a charsmap that does not parse. Deserialising
  it hits an ``.expect("Precompiled")`` in tokenizers' ``normalizers/mod.rs`` (the only arm
  without ``map_err``; huggingface/tokenizers PR 2151/2156), so loading the tokenizer panics.
- ``text``: the normalizer is ``Replace(Regex("^(?=zz)"), " ")`` followed by ``BertNormalizer``.
  A zero-width match at the start of the text leaves offsets that ``BertNormalizer`` indexes
  past (``index out of bounds`` in ``tokenizer/normalizer.rs``; huggingface/tokenizers issue
  736). Loading and encoding ordinary text work; any text that starts with ``zz`` panics.

- ``slow``: the pre-tokenizer first splits on ``(a|aa)+$`` (Oniguruma, backtracking): a run
  of 30 ``a`` before a non-``a`` takes 0.15 s (idle core) to ~0.7 s (loaded machine) of native code
  per text (32 hit Oniguruma's retry limit and panic), so a stage over such rows runs for long
  stretches with no progress tick; ``slow_rows`` sizes the data from the measured speed.

A Rust panic reaches Python as ``pyo3_runtime.PanicException``, a ``BaseException`` that an
``except Exception`` does not catch. ``build`` checks that the panic is real before returning.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

TRIGGER = "zz"
SLOW_TEXT = "a" * 30 + "!"


def _tokenizer_json(kind: str, base: dict) -> dict:
    doc = json.loads(json.dumps(base))
    if kind == "load":
        doc["normalizer"] = {"type": "Precompiled", "precompiled_charsmap": "AAAA"}
    elif kind == "text":
        doc["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "Replace", "pattern": {"Regex": f"^(?={TRIGGER})"}, "content": " "},
            base["normalizer"]]}
    elif kind == "slow":
        doc["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "(a|aa)+$"}, "behavior": "Isolated", "invert": False},
            base["pre_tokenizer"]]}
    else:
        raise ValueError(f"unknown kind {kind!r}: 'load', 'text' or 'slow'")
    return doc


def _panics(fn) -> str | None:  # noqa: ANN001
    """The PanicException message ``fn`` raised, or None if it returned."""
    try:
        fn()
    except BaseException as exc:  # noqa: BLE001 - looking for the native panic type
        if type(exc).__name__ != "PanicException" or isinstance(exc, Exception):
            raise
        return str(exc)
    return None


def build(tiny_dir: Path, dest: Path, kind: str) -> Path:
    """A copy of ``tiny_dir`` whose tokenizer panics at ``kind`` ('load' or 'text') or is slow."""
    from tokenizers import Tokenizer

    shutil.copytree(tiny_dir, dest)
    path = dest / "tokenizer.json"
    doc = _tokenizer_json(kind, json.loads(path.read_text()))
    path.write_text(json.dumps(doc))
    if kind == "slow":
        if slow_text_seconds(dest) < 0.01:  # precondition, not a timing claim
            import pytest

            pytest.skip("the regex engine answered the backtracking text at once: no slow "
                        "tokenizer to exercise the budget with")
    elif kind == "load":
        assert _panics(lambda: Tokenizer.from_file(str(path))), "the load panic did not happen"
    else:
        tok = Tokenizer.from_file(str(path))
        assert tok.encode("a good film").tokens, "ordinary text must still encode"
        assert _panics(lambda: tok.encode(f"{TRIGGER} a good film")), "the text panic did not happen"
    return dest


def trigger_rows(n: int) -> bytes:
    """A labelled TSV whose every sentence starts with the trigger."""
    words = ["good", "great", "fun", "bad", "boring", "awful"]
    rows = ["sentence\tlabel"] + [f"{TRIGGER} the film was {words[i % 6]}\t{int(i % 6 < 3)}" for i in range(n)]
    return ("\n".join(rows) + "\n").encode()


def slow_text_seconds(model_dir: Path) -> float:
    """Seconds the ``slow`` tokenizer of ``model_dir`` spends on one ``SLOW_TEXT`` (best of 3):
    0.15 s on an idle core here, several times that on a loaded machine."""
    import time

    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        tok.encode(SLOW_TEXT)
        best = min(best, time.perf_counter() - t0)
    return best


def slow_rows(model_dir: Path, outlast_s: float) -> bytes:
    """A labelled TSV of ``SLOW_TEXT`` rows that keeps the ``slow`` tokenizer of ``model_dir``
    busy for at least 3x ``outlast_s`` on this machine (the row count follows the measured speed,
    so a fast machine does not finish the stage before the time limit it is meant to exceed)."""
    n = max(96, math.ceil(3 * outlast_s / slow_text_seconds(model_dir)))
    return ("sentence\tlabel\n" + "".join(f"{SLOW_TEXT}\t{i % 2}\n" for i in range(n))).encode()
