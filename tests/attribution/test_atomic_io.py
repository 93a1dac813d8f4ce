import stat

import pytest

from common.atomic_io import write_text_atomic


def test_writes_world_readable_and_replaces(tmp_path):
    out = write_text_atomic(tmp_path / "sub" / "r.json", "one")
    write_text_atomic(out, "two")
    assert out.read_text() == "two"
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert [p.name for p in out.parent.iterdir()] == ["r.json"]


def test_failure_leaves_old_file_and_no_temp(tmp_path):
    out = write_text_atomic(tmp_path / "r.txt", "kept")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(out, "\ud800")  # a lone surrogate cannot be encoded: fails mid-write
    assert out.read_text() == "kept"
    assert [p.name for p in tmp_path.iterdir()] == ["r.txt"]
