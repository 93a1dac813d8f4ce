"""The one model-folder hash: archive members and the extracted folder agree; hidden files and
order do not matter; a short read is refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from common.hashing import HashMismatch, files_sha256, is_model_path, model_dir_sha256


def _folder(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "config.json").write_text('{"a": 1}')
    (root / "model.safetensors").write_bytes(b"\x00" * 1000)
    (root / "sub" / "vocab.txt").write_text("[PAD]\nhello\n")
    return root


def test_archive_members_hash_like_the_extracted_folder(tmp_path: Path) -> None:
    root = _folder(tmp_path / "m")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(root.rglob("*"), reverse=True):  # another member order
            if p.is_file():
                zf.write(p, p.relative_to(root).as_posix())
    with zipfile.ZipFile(buf) as zf:
        entries = [(i.filename, i.file_size, lambda i=i: zf.open(i)) for i in zf.infolist()]
        assert files_sha256(entries) == model_dir_sha256(root)


def test_hidden_files_are_not_part_of_the_model(tmp_path: Path) -> None:
    root = _folder(tmp_path / "m")
    before = model_dir_sha256(root)
    (root / ".cache").mkdir()
    (root / ".cache" / "x").write_text("noise")
    (root / ".DS_Store").write_text("noise")
    assert model_dir_sha256(root) == before
    (root / "config.json").write_text('{"a": 2}')
    assert model_dir_sha256(root) != before
    assert not is_model_path(".git/HEAD") and is_model_path("sub/vocab.txt")


def test_a_file_shorter_than_declared_is_refused() -> None:
    entries = [("config.json", 10, lambda: io.BytesIO(b"12345"))]
    with pytest.raises(HashMismatch):
        files_sha256(entries)
