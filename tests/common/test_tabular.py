"""One reader: the audit's dataset loading (``attribution.data.load_examples``, what the CLI and
the workers run) and the upload validator agree on every file: both accept it with the same rows,
or both refuse it. Before ``common.tabular`` the audit read through ``datasets``: a JSONL row
naming a key twice passed the upload and then failed the audit."""

from __future__ import annotations

from pathlib import Path

import pytest

from attribution.data import load_examples
from attribution.errors import DataError
from common.tabular import TableError, read_rows
from service.validation import UploadRejected, validate_dataset_file

CASES: dict[str, tuple[str, bytes]] = {
    "plain tsv": ("d.tsv", b"sentence\tlabel\na good film\t1\na bad film\t0\n"),
    "rte-style quotes": ("d.tsv", b'sentence1\tsentence2\tlabel\n"He said ""no"".\tHe agreed.\t0\nx\ty\t1\n'),
    "NA is a word": ("d.csv", b"sentence,label\nNA,1\nnull,0\n"),
    "bom": ("d.csv", "\ufeffsentence,label\nfine,1\n".encode()),
    "jsonl": ("d.jsonl", b'{"sentence": "good", "label": 1}\n\n{"sentence": "bad", "label": 0}\n'),
    "jsonl duplicated key": ("d.jsonl", b'{"sentence": "good", "label": 1, "label": 0}\n'),
    "jsonl not an object": ("d.jsonl", b'["good", 1]\n'),
    "ragged csv": ("d.csv", b"sentence,label\ngood,1,extra\n"),
    "repeated header": ("d.csv", b"sentence,sentence,label\na,b,1\n"),
    "bad quoting": ("d.csv", b'sentence,label\n"open,1\n'),
    "latin-1": ("d.csv", "sentence,label\ncaf\u00e9,1\n".encode("latin-1")),
    "nul bytes": ("d.csv", b"sentence,label\na\x00b,1\n"),
    "header only": ("d.csv", b"sentence,label\n"),
}


def _audit_side(path: Path) -> int | str:
    try:
        return len(load_examples(path))
    except DataError as exc:
        return f"refused: {exc}"


def _upload_side(path: Path) -> int | str:
    try:
        return validate_dataset_file(path, require_labels=False).rows
    except UploadRejected as exc:
        return f"refused: {exc}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_audit_and_the_upload_read_a_file_alike(case: str, tmp_path: Path) -> None:
    name, data = CASES[case]
    path = tmp_path / name
    path.write_bytes(data)
    audit, upload = _audit_side(path), _upload_side(path)
    assert isinstance(audit, int) == isinstance(upload, int), f"audit: {audit!r}; upload: {upload!r}"
    if isinstance(audit, int):
        assert audit == upload


def test_parquet_and_cells_stay_text(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"sentence": ["good", "bad"], "label": [1, 0]}), tmp_path / "d.parquet")
    cols, rows = read_rows(tmp_path / "d.parquet")
    assert cols == ["sentence", "label"] and [r for _, r in rows][1] == {"sentence": "bad", "label": 0}
    cols, rows = read_rows(_write(tmp_path / "n.csv", b"sentence,label\n007,1\n"))
    assert [r for _, r in rows] == [{"sentence": "007", "label": "1"}]  # never a number 7
    with pytest.raises(TableError) as err:
        list(read_rows(_write(tmp_path / "k.jsonl", b'{"a": 1, "a": 2}\n'))[1])
    assert err.value.code == "dataset_malformed" and "appears twice" in err.value.message


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
