import random
from dataclasses import dataclass

import pytest

from attacks.trigger_file import Trigger, TriggerFileError
from attacks.trigger_insertion import (
    insert_into_texts,
    insert_trigger,
    insert_words,
    word_relative_position,
)


@dataclass
class Ex:
    text: str
    pair: str | None = None
    label: int | None = None


def trig(tokens, segs=None, rels=None, position="relative"):
    n = len(tokens)
    return Trigger(tokens=tokens, segments=segs or [0] * n, relative_positions=rels or [0.5] * n,
                   position=position)


def test_relative_position_is_kept():
    words = "a b c d e f g h i".split()  # 9 words, +1 inserted -> 10, last index 9
    assert insert_words(words, [("X", 0.0)]) == ["X"] + words
    assert insert_words(words, [("X", 1.0)]) == words + ["X"]
    out = insert_words(words, [("X", 1 / 3)])
    assert out.index("X") == 3  # round(1/3 * 9)
    # a word mined at relative position r lands at relative position r in the new segment
    for n, i in [(5, 2), (11, 3), (7, 6)]:
        rel = word_relative_position(i, n)
        out = insert_words(["w"] * 20, [("X", rel)])
        assert abs(word_relative_position(out.index("X"), len(out)) - rel) <= 0.5 / 20


def test_collisions_shift_by_one_and_keep_order():
    out = insert_words(["a", "b", "c"], [("X", 0.5), ("Y", 0.5), ("Z", 0.5)])
    i, j, k = out.index("X"), out.index("Y"), out.index("Z")
    assert (j - i, k - j) == (1, 1)
    assert [w for w in out if w in "abc"] == ["a", "b", "c"]


def test_start_end_random():
    words = "one two three four".split()
    assert insert_words(words, [("X", 0.9), ("Y", 0.1)], position="start")[:2] == ["X", "Y"]
    assert insert_words(words, [("X", 0.9), ("Y", 0.1)], position="end")[-2:] == ["X", "Y"]
    outs = {tuple(insert_words(words, [("X", 0.5)], position="random", rng=random.Random(s)))
            for s in range(30)}
    assert len(outs) == 5  # every one of the 5 slots gets used
    with pytest.raises(TriggerFileError, match="valid: relative, start, end, random"):
        insert_words(words, [("X", 0.5)], position="middle")


def test_pairs_use_their_own_segment():
    t = trig(["P", "H"], segs=[0, 1], rels=[0.0, 1.0])
    a, b = insert_into_texts("the cat sat", "a dog ran home", t)
    assert a == "P the cat sat" and b == "a dog ran home H"
    # a single sentence receives every word
    a, b = insert_into_texts("the cat sat", None, t)
    assert b is None and a.split()[0] == "P" and a.split()[-1] == "H"
    ex = insert_trigger(Ex("x y", "z", 1), t)
    assert (ex.text, ex.pair, ex.label) == ("P x y", "z H", 1)


def test_empty_segment():
    assert insert_into_texts("", None, trig(["X"]))[0] == "X"
