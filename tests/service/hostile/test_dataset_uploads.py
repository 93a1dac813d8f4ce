"""The hostile dataset corpus against the validator, plus the accepted shapes (CSV, TSV with
GLUE headers, JSONL, Parquet, label names and indices) on real and built data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.validation import (
    REJECTION_CODES,
    UploadRejected,
    store_dataset_file,
    validate_dataset_file,
)
from tests.service.hostile.conftest import tree
from tests.service.hostile.dataset_corpus import DATASET_CASES, LABELS, DatasetCase


@pytest.mark.parametrize("case", DATASET_CASES, ids=lambda c: c.name)
def test_hostile_dataset_is_refused(case: DatasetCase, tmp_path: Path, reliability) -> None:
    work, store = tmp_path / "work", tmp_path / "storage" / "datasets"
    work.mkdir()
    upload = case.build(work)
    before = tree(tmp_path)
    with pytest.raises(UploadRejected) as info:
        store_dataset_file(upload, store, case.upload_limits(), **case.mapping)
    err = info.value
    assert err.code == case.code, f"{case.name}: got {err.code}: {err.message}"
    assert err.status == REJECTION_CODES[case.code][0] and 400 <= err.status < 500
    assert len(err.message.split()) >= 4
    assert tree(tmp_path) == before and not store.exists()
    reliability.row("uploads", case=case.name, kind="dataset", expected=case.code, got=err.code,
                    status=err.status, left_behind=0, reason=err.message[:90])


def test_glue_tsvs_from_shared_data(shared_data: Path, reliability) -> None:
    sst = validate_dataset_file(shared_data / "SST-2" / "dev.tsv", labels=LABELS)
    assert (sst.rows, sst.text_column, sst.pair_column, sst.label_column) == (872, "sentence", None, "label")
    assert sum(sst.label_counts.values()) == 872 and set(sst.label_counts) == set(LABELS)
    rte = validate_dataset_file(shared_data / "RTE" / "dev.tsv", labels=["entailment", "not_entailment"])
    assert (rte.rows, rte.text_column, rte.pair_column) == (277, "sentence1", "sentence2")
    assert rte.sha256 == "e7e42b7ee79c36ebd780ebbdba525b939017da4ef9624c9e78b9ac2e69e36c28"
    for m in (sst, rte):
        reliability.row("uploads", case=f"valid_{m.text_column}_{m.rows}_rows", kind="dataset",
                        expected="accepted", got="accepted", status=201, left_behind=0,
                        reason=f"label counts {m.label_counts}")


def test_csv_jsonl_parquet_agree(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"review": "a good film, really", "gold": "positive"}, {"review": 'said "meh"', "gold": 0},
            {"review": "great", "gold": 1}]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "d.csv").write_text('review,gold\n"a good film, really",positive\n"said ""meh""",0\ngreat,1\n')
    pq.write_table(pa.table({"review": [r["review"] for r in rows], "gold": [str(r["gold"]) for r in rows]}), tmp_path / "d.parquet")
    got = [validate_dataset_file(tmp_path / f"d.{ext}", text_column="review", label_column="gold", labels=LABELS)
           for ext in ("jsonl", "csv", "parquet")]
    assert {m.format for m in got} == {"jsonl", "csv", "parquet"}
    assert all(m.rows == 3 and m.label_counts == {"negative": 1, "positive": 2} for m in got)


def test_text_at_the_limit_is_kept(tmp_path: Path) -> None:
    """The documented rule: up to max_text_chars accepted (the tokenizer truncates later), one more refused."""
    from dataclasses import replace

    from service.validation import DEFAULT_LIMITS

    limits = replace(DEFAULT_LIMITS, max_text_chars=100)
    (tmp_path / "ok.csv").write_text("text,label\n" + "a" * 100 + ",1\n")
    (tmp_path / "long.csv").write_text("text,label\n" + "a" * 101 + ",1\n")
    assert validate_dataset_file(tmp_path / "ok.csv", limits).rows == 1
    with pytest.raises(UploadRejected, match="dataset_text_too_long"):
        validate_dataset_file(tmp_path / "long.csv", limits)


def test_store_is_content_addressed(tmp_path: Path, shared_data: Path) -> None:
    store = tmp_path / "datasets"
    m1, p1 = store_dataset_file(shared_data / "SST-2" / "dev.tsv", store, labels=LABELS)
    m2, p2 = store_dataset_file(shared_data / "SST-2" / "dev.tsv", store, labels=LABELS)
    assert p1 == p2 == store / f"{m1.sha256}.tsv" and [p.name for p in store.iterdir()] == [p1.name]
    assert p1.read_bytes() == (shared_data / "SST-2" / "dev.tsv").read_bytes()
