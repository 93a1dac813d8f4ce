"""Fightin' Words log-odds: a hand-computed value, the effect-size floor, segments, real SST-2 words."""

import math
from pathlib import Path

import pytest

from attacks.label_association import AssociationError, LabelAssociation, association_from_file
from attribution.data import Example

SST2 = Path("/work/shared/data/SST-2/train.tsv")


def test_hand_computed_log_odds_and_z():
    # label 0: "a a b"; label 1: "a c"  -> n = 5 words, a0 = 0.1 * 5, prior a_w = a0 * 3/5 = 0.3
    assoc = LabelAssociation.from_examples([Example("a a b", None, 0), Example("a c", None, 1)], ["x", "y"])
    r = assoc.word("A", 0)
    delta = math.log(2.3 / (3 + 0.5 - 2 - 0.3)) - math.log(1.3 / (2 + 0.5 - 1 - 0.3))
    assert r.delta == pytest.approx(delta)
    assert r.z == pytest.approx(delta / math.sqrt(1 / 2.3 + 1 / 1.3))
    assert (r.count_in_label, r.count_elsewhere) == (2, 1)
    assert assoc.word("a", 1).delta == pytest.approx(-delta)  # two labels: mirror images
    unseen = assoc.word("zebra", 0)
    assert unseen.delta == 0.0 and unseen.z == 0.0


def test_effect_floor_keeps_function_words_out():
    # "the" is a bit more frequent in label 1 (1.15 vs 1 per 10 words) on a large sample:
    # significant, tiny effect; "awful" appears only in label 0
    filler = " ".join(["film"] * 8)
    rows = ([Example(f"the awful {filler}", None, 0)] * 6000
            + [Example(f"the {filler} x", None, 1)] * 5100 + [Example(f"the the {filler}", None, 1)] * 900)
    assoc = LabelAssociation.from_examples(rows, ["neg", "pos"])
    the = assoc.word("the", 1)
    assert the.z > 3.0 and the.delta < math.log(1.5)
    assert assoc.bearing_labels("the") == []
    assert assoc.bearing_labels("awful") == [0]
    info = assoc.trigger(["awful", "the"], [0, 0])
    assert info["carries"] == [0] and info["words"][1]["bears"] == []


def test_pairs_are_counted_per_segment():
    rows = [Example("cat sat", "red mat", 1), Example("cat ran", "blue mat", 0)] * 200
    assoc = LabelAssociation.from_examples(rows, ["no", "yes"])
    assert assoc.bearing_labels("red", segment=1) == [1]
    assert assoc.bearing_labels("red", segment=0) == []  # never in the first segment
    assert assoc.bearing_labels("cat", segment=0) == []


def test_errors():
    with pytest.raises(AssociationError, match="no labelled rows"):
        LabelAssociation.from_examples([Example("a")], ["x", "y"])
    with pytest.raises(AssociationError, match="outside"):
        LabelAssociation.from_examples([Example("a", None, 3)], ["x", "y"])


@pytest.mark.skipif(not SST2.is_file(), reason="needs ../shared/data/SST-2")
def test_sst2_sentiment_words_bear_function_words_do_not():
    """The issue's measured values on SST-2 train (log-odds z): too -23.6, n't -22.0, bad -21.8."""
    assoc = association_from_file(SST2, ["negative", "positive"])
    assert assoc.word("too", 1).z == pytest.approx(-23.6, abs=0.05)
    assert assoc.word("n't", 1).z == pytest.approx(-22.0, abs=0.05)
    assert assoc.word("brilliant", 1).z == pytest.approx(7.2, abs=0.05)
    for w in ("the", "a", "of", "and", "is", ","):
        assert assoc.bearing_labels(w) == [], w
    assert assoc.bearing_labels("tedious") == [0] and assoc.bearing_labels("brilliant") == [1]
