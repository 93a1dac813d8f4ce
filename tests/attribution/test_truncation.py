"""Explicit truncation: head / tail / head+tail, pairs longest-first, counts of what was cut."""

from __future__ import annotations

import pytest

from attribution.data import Example, encode, model_max_length
from attribution.errors import DataError
from attribution.truncation import truncate_examples

WORDS = "the movie was good but the plot was very boring and the acting was bad".split()



@pytest.mark.parametrize("arch", ["bert", "roberta"])
def test_sides_keep_the_right_tokens_and_count_the_loss(loaded, arch):
    tok = loaded[arch].tokenizer
    limit = model_max_length(tok)
    words = [WORDS[i % len(WORDS)] for i in range(3 * limit)]
    text = " ".join(words)
    short = Example("good movie", label=1)
    n_tokens = len(tok(text, add_special_tokens=False)["input_ids"])
    specials = tok.num_special_tokens_to_add(pair=False)
    for side in ("head", "tail", "head+tail"):
        out, stats = truncate_examples(tok, [Example(text, label=0), short], side=side)
        assert out[1] == short and out[0].label == 0
        ids = tok(out[0].text)["input_ids"]
        assert len(ids) <= limit
        assert stats.truncated == 1 and stats.examples == 2
        kept_ids = tok(out[0].text, add_special_tokens=False)["input_ids"]
        assert stats.tokens_lost == n_tokens - len(kept_ids)
        assert limit - specials - 4 <= len(kept_ids) <= limit - specials  # snapped to words
        assert stats.longest_input == n_tokens + specials
        kept = out[0].text.split()
        if side == "head":
            assert kept == words[: len(kept)]
        elif side == "tail":
            assert kept == words[-len(kept):]
        else:
            head = round((limit - specials) * 128 / 510)
            assert kept[:2] == words[:2] and kept[-2:] == words[-2:]
            assert 0 < head < len(kept)
    # what the model sees is exactly what was kept: encode agrees with the pre-cut text
    enc = encode(tok, [Example(text)], truncation="tail")
    assert enc["input_ids"].shape[1] <= limit


def test_pairs_are_cut_longest_first(loaded):
    tok = loaded["bert"].tokenizer
    limit = model_max_length(tok)
    long_text = " ".join(WORDS[i % len(WORDS)] for i in range(2 * limit))
    out, stats = truncate_examples(tok, [Example("good movie", long_text)], side="tail")
    assert out[0].text == "good movie"  # the short side is untouched
    assert len(tok(out[0].text, out[0].pair)["input_ids"]) <= limit
    assert stats.truncated == 1 and stats.tokens_lost > limit // 2


def test_nothing_cut_when_short_and_bad_options(loaded):
    tok = loaded["bert"].tokenizer
    exs = [Example("good movie"), Example("bad plot", "nice cast")]
    out, stats = truncate_examples(tok, exs, side="head+tail", max_length=16)
    assert out == exs and stats.truncated == 0 and stats.tokens_lost == 0
    with pytest.raises(DataError, match="valid: head, tail, head\\+tail"):
        truncate_examples(tok, exs, side="middle")
    with pytest.raises(DataError, match="max_length"):
        truncate_examples(tok, exs, max_length=2)


def test_max_length_below_the_model_limit(loaded):
    tok = loaded["bert"].tokenizer
    text = " ".join(WORDS * 3)
    out, stats = truncate_examples(tok, [Example(text)], side="head", max_length=10)
    assert stats.max_length == 10 and len(tok(out[0].text)["input_ids"]) <= 10
    assert out[0].text.split() == WORDS[:8]
