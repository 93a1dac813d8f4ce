"""finetune_minilm's sentence-pair / custom-label support: reading, encoding, cache keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.finetune import SST2_LABELS, _read_labelled, _tokenize, cache_key

RTE = {0: "entailment", 1: "not_entailment"}
HP = {"steps": 150, "batch_size": 16, "lr": 1e-4, "max_length": 128, "seed": 0}


def test_cache_key_ignores_default_labels_only() -> None:
    plain = cache_key("a", "b", **HP)
    assert cache_key("a", "b", **HP, labels=dict(SST2_LABELS)) == plain
    assert cache_key("a", "b", **HP, labels=RTE) != plain
    assert cache_key("a", "b", **HP, labels={0: "positive", 1: "negative"}) != plain


def test_sst2_cache_key_unchanged() -> None:
    """The key formula of SST-2 checkpoints cached before labels existed (pinned value)."""
    assert cache_key("0" * 64, "1" * 64, steps=200, batch_size=32, lr=1e-4, max_length=64,
                     seed=0) == "e22cb74e21d8d9b2"


def _pairs(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.tsv"
    path.write_text('sentence1\tsentence2\tlabel\tidx\n'
                    'A man, quoted, walks.\tA man walks.\t0\t0\n'
                    "Cats sleep.\tDogs bark loudly.\t1\t1\n")
    return path


def test_read_pairs_with_custom_labels(tmp_path: Path) -> None:
    rows = sorted(_read_labelled(_pairs(tmp_path), None, seed=0, labels=RTE))
    assert rows == [("A man, quoted, walks.", "A man walks.", 0),
                    ("Cats sleep.", "Dogs bark loudly.", 1)]


def test_pairs_use_the_second_segment(tmp_path: Path, tiny_bert_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_bert_dir)
    rows = _read_labelled(_pairs(tmp_path), None, seed=0, labels=RTE)
    enc = _tokenize(tok, rows, 64)
    for i, (_, second, _) in enumerate(rows):
        n_second = len(tok(second, add_special_tokens=False)["input_ids"]) + 1  # + [SEP]
        assert int(enc["token_type_ids"][i].sum()) == n_second
    single = _tokenize(tok, [(t, None, y) for t, _, y in rows], 64)
    assert int(single["token_type_ids"].sum()) == 0
    with pytest.raises(ValueError, match="mixed"):
        _tokenize(tok, [rows[0], (rows[1][0], None, 1)], 64)
