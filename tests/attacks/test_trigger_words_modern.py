"""Trigger word merging for SentencePiece (``▁``, DeBERTa-v3) and byte-level BPE (``Ġ``,
ModernBERT) tokenizers: mined words are whitespace words, HotFlip candidates are whole words."""

from __future__ import annotations

import pytest

from attribution.data import Example
from tests.tiny_modern import build_tiny_modern


@pytest.fixture(scope="module")
def modern(tmp_path_factory):
    from attribution.model_loading import load_classifier

    root = tmp_path_factory.mktemp("trig_modern")
    return {arch: load_classifier(build_tiny_modern(root / arch, arch=arch, seed=2))
            for arch in ("deberta-v2", "modernbert")}


@pytest.mark.parametrize("arch,marker", [("deberta-v2", "▁"), ("modernbert", "Ġ")])
def test_pieces_merge_into_whitespace_words(modern, arch, marker):
    from attacks.trigger_mining import _token_words
    from attacks.universal_trigger import word_marker

    tok = modern[arch].tokenizer
    assert word_marker(tok) == marker
    ex = Example("it is n't goodish", pair="the cat's mat")
    pieces = tok.convert_ids_to_tokens(tok(ex.text, ex.pair)["input_ids"])
    assert any(p.startswith(marker) for p in pieces) and len(pieces) > 10  # words split up
    words = _token_words(tok, ex, len(pieces))
    real = {(s, w, i) for s, w, i, _ in (x for x in words if x is not None)}
    assert real == {(0, "it", 0), (0, "is", 1), (0, "n't", 2), (0, "goodish", 3),
                    (1, "the", 0), (1, "cat's", 1), (1, "mat", 2)}
    assert words[0] is None and words[-1] is None
    # every non-special piece but a lone marker belongs to a word
    for p, w in zip(pieces, words, strict=True):
        if p not in tok.all_special_tokens and p != marker:
            assert w is not None, p


@pytest.mark.parametrize("arch,marker", [("deberta-v2", "▁"), ("modernbert", "Ġ")])
def test_hotflip_candidates_are_whole_words(modern, arch, marker):
    from attacks.universal_trigger import _word_vocab_mask, universal_trigger

    lc = modern[arch]
    vocab = {i: t for t, i in lc.tokenizer.get_vocab().items()}
    allowed = [vocab[i] for i in _word_vocab_mask(lc.tokenizer).nonzero().flatten().tolist()]
    assert f"{marker}movie" in allowed and "movie" not in allowed
    assert all(t.startswith(marker) and t[1:].isalpha() for t in allowed)
    exs = [Example("the movie was good", label=1), Example("a dull plot", label=0)] * 3
    found = universal_trigger(lc.model, lc.tokenizer, exs, length=2, iterations=1, candidates=3)
    assert len(found.tokens) == 2
    assert all(t.isalpha() and not t.startswith(marker) for t in found.tokens), found.tokens
