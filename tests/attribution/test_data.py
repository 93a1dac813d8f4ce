"""Dataset files through `datasets`: formats, GLUE headers, label names, clear errors."""

from __future__ import annotations

import json

import pytest

from attribution.data import Example, dataset_sha256, encode, load_examples
from attribution.errors import DataError


def test_glue_tsv_with_quotes_and_na(tmp_path):
    p = tmp_path / "dev.tsv"
    p.write_text('sentence\tlabel\nit \'s a "great" film\t1\nNA\t0\n')
    ex = load_examples(p)
    assert ex == [Example('it \'s a "great" film', None, 1), Example("NA", None, 0)]


def test_pairs_csv_and_label_names(tmp_path):
    p = tmp_path / "pairs.csv"
    p.write_text("sentence1,sentence2,label\na cat,a dog,positive\n\"x, y\",z,negative\n")
    ex = load_examples(p, labels=["negative", "positive"])
    assert ex == [Example("a cat", "a dog", 1), Example("x, y", "z", 0)]


def test_jsonl_named_columns_and_limit(tmp_path):
    p = tmp_path / "d.jsonl"
    rows = [{"body": f"text {i}", "y": i % 2, "other": 1} for i in range(5)]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ex = load_examples(p, text_column="body", label_column="y", limit=3)
    assert [e.text for e in ex] == ["text 0", "text 1", "text 2"]
    assert [e.label for e in ex] == [0, 1, 0]


def test_parquet_premise_hypothesis(tmp_path):
    import datasets

    p = tmp_path / "d.parquet"
    datasets.Dataset.from_dict(
        {"premise": ["p1", "p2"], "hypothesis": ["h1", "h2"], "label": [2, -1]}
    ).to_parquet(str(p))
    ex = load_examples(p)
    assert ex == [Example("p1", "h1", 2), Example("p2", "h2", None)]


@pytest.mark.parametrize(
    ("content", "kwargs", "message"),
    [
        ("sentence\tlabel\nok\tmaybe\n", {"labels": ["neg", "pos"]}, "label 'maybe' is not in the model's label set"),
        ("sentence\tlabel\n \t1\n", {}, "row 1: empty text"),
        ("foo\tbar\nx\ty\n", {}, "no text column given and none of .* found"),
        ("sentence\tlabel\nx\t1\n", {"pair_column": "nope"}, "pair_column 'nope' is not a column"),
        ("sentence\tlabel\nx\t7\n", {"labels": ["a", "b"]}, r"label 7 is not in the model's label set \['a', 'b'\] \(give a name or an index 0..1\)"),
        ("sentence\tlabel\nx\t\u00b2\n", {"labels": ["a", "b"]}, "label '\u00b2' is not in the model's label set"),
        ("sentence\tlabel\n", {}, "no rows"),
    ],
)
def test_bad_files(tmp_path, content, kwargs, message):
    p = tmp_path / "bad.tsv"
    p.write_text(content)
    with pytest.raises(DataError, match=message):
        load_examples(p, **kwargs)


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_examples(tmp_path / "missing.csv")
    (tmp_path / "x.xlsx").write_text("a")
    with pytest.raises(DataError, match="cannot tell the format of 'x.xlsx'"):
        load_examples(tmp_path / "x.xlsx")
    (tmp_path / "broken.jsonl").write_text("{not json\n")
    with pytest.raises(DataError, match="line 1 is not valid JSON"):
        load_examples(tmp_path / "broken.jsonl")
    (tmp_path / "dup.jsonl").write_text('{"sentence": "a", "label": 0, "label": 1}\n')
    with pytest.raises(DataError, match="the key 'label' appears twice"):
        load_examples(tmp_path / "dup.jsonl")


def test_dataset_sha256(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes(b"abc")
    assert dataset_sha256(p) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_encode_pads_dynamically(loaded):
    tok = loaded["bert"].tokenizer
    enc = encode(tok, [Example("good"), Example("a very good movie")])
    assert enc["input_ids"].shape == (2, 6)  # [CLS] a very good movie [SEP]
    assert enc["attention_mask"].tolist() == [[1, 1, 1, 0, 0, 0], [1] * 6]
    with pytest.raises(DataError, match="empty text"):
        encode(tok, [Example("  ")])
    with pytest.raises(DataError, match="mixes"):
        encode(tok, [Example("a", "b"), Example("c")])


def test_glue_rte_tsv_csv_quoting_is_undone(shared_data):
    """RTE's dev.tsv CSV-quotes fields that contain quotes; SST-2 has none. Both read whole."""
    from attribution.data import load_examples

    rte = load_examples(shared_data / "RTE" / "dev.tsv", labels=["entailment", "not_entailment"])
    assert len(rte) == 277
    assert not any(e.text.startswith('"') and e.text.endswith('"') for e in rte)
    assert not any('""' in e.text or '""' in (e.pair or "") for e in rte)
    assert sum('"' in e.text or '"' in (e.pair or "") for e in rte) > 0  # inner quotes survive
    sst = load_examples(shared_data / "SST-2" / "dev.tsv", labels=["negative", "positive"])
    assert len(sst) == 872 and {e.label for e in sst} == {0, 1}
