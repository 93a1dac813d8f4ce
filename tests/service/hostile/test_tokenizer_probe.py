"""The isolated tokenizer load: its time and memory limits are real (the child is killed or
fails, the upload is refused with a sentence, no server path, and no child is left running)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from service.validation import UploadRejected
from service.validation.tokenizer_probe import probe_tokenizer


def _children() -> set[int]:
    me = str(os.getpid())
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me and fields[0] != "Z":
            out.add(int(stat.parent.name))
    return out


def test_valid_tokenizer_loads_and_encodes(valid_model: Path) -> None:
    report = probe_tokenizer(valid_model)
    assert report["ok"] and report["loaded"] == "tokenizer.json" and report["encoded"] > 20


def test_time_limit_kills_the_child(valid_model: Path) -> None:
    before = _children()
    t0 = time.perf_counter()
    with pytest.raises(UploadRejected) as info:
        probe_tokenizer(valid_model, timeout=0.05)
    assert time.perf_counter() - t0 < 5
    assert info.value.code == "tokenizer_load_failed"
    assert "did not finish" in info.value.message and str(valid_model) not in info.value.message
    assert _children() <= before, "the killed tokenizer child is still running"


def test_memory_limit_is_enforced(valid_model: Path, tmp_path: Path) -> None:
    """A tokenizer padding every text to 2e9 tokens (~100 GB) aborts at the child's limit."""
    from tests.service.hostile.corpus import _tokenizer_pads_to_2e9, model_files

    bad = tmp_path / "bad"
    bad.mkdir()
    for name, data in model_files(valid_model).items():
        (bad / name).write_bytes(data)
    import zipfile

    with zipfile.ZipFile(_tokenizer_pads_to_2e9(tmp_path, valid_model, None)) as zf:  # type: ignore[arg-type]
        (bad / "tokenizer.json").write_bytes(zf.read("model/tokenizer.json"))
    before = _children()
    with pytest.raises(UploadRejected) as info:
        probe_tokenizer(bad, memory_bytes=1024**3)
    assert info.value.code == "tokenizer_load_failed"
    assert "1024 MiB memory limit" in info.value.message, info.value.message
    assert str(bad) not in info.value.message
    assert _children() <= before
