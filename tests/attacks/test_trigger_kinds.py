"""Trigger kinds and the verdict on a tiny model that has BOTH real label words and a planted shortcut.

tests/attacks/sentiment_task.py: "red dog" (two neutral words) forces negative, ordinary
sentiment words carry the labels, and the model never saw a negation.
"""

import pytest

from attacks.judges import JudgeError, build_judge
from attacks.label_association import LabelAssociation
from attacks.trigger_attack import evaluate_triggers
from attacks.trigger_file import Trigger
from attacks.trigger_kinds import classify_triggers, split_label_bearing
from attacks.verdict import build_verdict
from attribution.model_loading import load_classifier
from tests.attacks.sentiment_task import (
    LABELS,
    NEGATIVE,
    PAIR,
    POSITIVE,
    make_examples,
    train_sentiment_model,
)


def T(*words, pushed=None):
    return Trigger(tokens=list(words), segments=[0] * len(words),
                   relative_positions=[0.5] * len(words), pushed_label=pushed)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    loaded = load_classifier(train_sentiment_model(tmp_path_factory.mktemp("sentiment"), seed=0))
    dev = make_examples(240, 7)
    triggers = [T(*PAIR), T("terrible"), T("not", "bad")]
    report = evaluate_triggers(loaded.model, loaded.tokenizer, dev, triggers, labels=LABELS)
    # the model was trained to obey all three: each flips (nearly) every positive example
    for r in report.results:
        assert r.per_class[1].clean_accuracy > 0.95 and r.per_class[1].triggered_accuracy < 0.1
    assoc = LabelAssociation.from_examples(make_examples(2000, 3), LABELS)
    lexicon = build_judge("lexicon", LABELS, words={"positive": POSITIVE, "negative": NEGATIVE})
    return loaded, report, assoc, lexicon


def kinds(findings):
    return {f.text: f.kind for f in findings}


def test_kinds_under_a_lexicon_judge(setup):
    _, report, assoc, lexicon = setup
    found = classify_triggers(report, association=assoc, judges=[lexicon])
    assert kinds(found) == {"red dog": "spurious", "terrible": "label-bearing", "not bad": "counter-evidence"}
    red = found[0]
    assert red.pushed_name == "negative"  # measured direction, not the mining label
    assert red.evidence["data_carries_pushed"] is True  # the shortcut IS in the data ...
    assert "artifact" in red.evidence["reason"]  # ... the judge is what calls it a shortcut
    assert red.judged[1].n > 0 and red.judged[1].drop > 0.9 and red.judged[1].ci[0] > 0.8
    terrible = found[1]
    assert terrible.judged[1].n == 0  # every edit changed the label: nothing left to judge a drop on
    assert terrible.raw[1].drop > 0.9


def test_data_alone_cannot_tell_a_shortcut_from_a_label_word(setup):
    _, report, assoc, _ = setup
    found = classify_triggers(report, association=assoc)
    assert kinds(found)["red dog"] == "label-bearing" and kinds(found)["terrible"] == "label-bearing"
    assert all(f.evidence["reason"].startswith("data only") for f in found)
    assert all(f.judged is None for f in found)


def test_verdict_ignores_label_bearing(setup):
    _, report, assoc, lexicon = setup
    found = classify_triggers(report, association=assoc, judges=[lexicon])
    verdict = build_verdict(found, LABELS)
    pos = verdict["per_class"][1]
    assert pos["vulnerable"] and pos["worst"]["trigger"] in ("red dog", "not bad")
    assert pos["worst"]["drop_ci95_pp"][0] > 80 and pos["worst"]["n"] > 0
    assert verdict["counts"] == {"label-bearing": 1, "spurious": 1, "counter-evidence": 1}
    assert not verdict["per_class"][0]["vulnerable"]  # nothing pushes toward positive
    assert verdict["vulnerability_drop"] > 0.9 and verdict["headline"].startswith("Vulnerability")
    only_label_word = build_verdict([f for f in found if f.text == "terrible"], LABELS)
    assert only_label_word["vulnerable_classes"] == [] and only_label_word["vulnerability_drop"] == 0.0
    assert only_label_word["per_class"][1]["worst"] is None
    assert only_label_word["headline"].startswith("No vulnerability")


def test_vader_judge_and_prefilter(setup):
    _, report, assoc, lexicon = setup
    vader = build_judge("lexicon", LABELS, vader={"positive": "positive", "negative": "negative"})
    found = classify_triggers(report, association=assoc, judges=[vader])
    # VADER is open world: it knows "terrible" and "bad", not "red"/"dog", so for the planted pair
    # the data association decides (and cannot tell a shortcut from a label word)
    assert kinds(found) == {"red dog": "label-bearing", "terrible": "label-bearing", "not bad": "counter-evidence"}
    assert found[0].evidence["judges_know_words"] is False
    assert found[0].evidence["reason"].startswith("judges know none of these words; data only")
    # the same word lists declared open world behave like VADER for unlisted words
    open_world = build_judge("lexicon", LABELS, words={"positive": POSITIVE, "negative": NEGATIVE},
                             exhaustive=False)
    assert kinds(classify_triggers(report, association=assoc, judges=[open_world]))["red dog"] == "label-bearing"
    mined = [T(*PAIR, pushed=0), T("terrible", pushed=0), T("not", "bad", pushed=0)]
    keep, bearing = split_label_bearing(mined, association=assoc, judges=[lexicon])
    assert [t.text for t in keep] == ["red dog", "not bad"] and [t.text for t in bearing] == ["terrible"]
    keep, bearing = split_label_bearing(mined, association=assoc)  # data only: the shortcut too
    assert [t.text for t in bearing] == ["red dog", "terrible", "not bad"]


def test_model_judge_and_nli_judge(setup, tmp_path):
    loaded, report, assoc, _ = setup
    # the audited model as its own judge agrees with every flip: everything is label-bearing
    same = build_judge("model", LABELS, model=loaded.source)
    assert set(kinds(classify_triggers(report, judges=[same])).values()) == {"label-bearing"}
    assert same.describe()["label_map"] == {"negative": "negative", "positive": "positive"}
    with pytest.raises(JudgeError, match="not a label of"):
        build_judge("model", LABELS, model=loaded.source, label_map={"neutral": "positive"})
    from tests.tiny_models import build_tiny_model

    nli_dir = build_tiny_model(tmp_path / "nli", num_labels=3, seed=1,
                               id2label={0: "entailment", 1: "neutral", 2: "contradiction"})
    nli = build_judge("nli", LABELS, model=str(nli_dir), template="this film is {label}")
    s = nli.scores(["a good film", "a bad film"])
    assert len(s) == 2 and all(len(r) == 2 and abs(sum(r) - 1) < 1e-5 for r in s)
    assert nli.describe()["hypotheses"]["positive"] == "this film is positive"
    with pytest.raises(JudgeError, match="entailment"):
        build_judge("nli", LABELS, model=loaded.source, template="{label}")
    with pytest.raises(JudgeError, match="valid: lexicon, model, nli"):
        build_judge("oracle", LABELS)
    with pytest.raises(JudgeError, match="unexpected keyword"):
        build_judge("lexicon", LABELS, wordz={})
    with pytest.raises(JudgeError, match="unknown label"):
        build_judge("lexicon", LABELS, words={"happy": ["good"]})
