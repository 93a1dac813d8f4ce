"""Faithfulness metrics: bins, Kendall tau summaries, AOPC ranking on a known-token model."""

from __future__ import annotations

import json

import pytest

from attribution.data import Example
from attribution.errors import AttributionInputError
from attribution.explainers import get_explainer
from attribution.explainers.base import TokenExplanation
from attribution.faithfulness import FaithfulnessEvaluator, TauSummary, bin_sizes, ranked_positions
from tests.attribution.heads_fixtures import good_detector, good_sentences  # noqa: F401


def test_bins_and_ranking():
    assert bin_sizes(10, [0.01, 0.05, 0.1, 0.2, 0.5]) == [1, 1, 1, 2, 5]
    assert bin_sizes(3, [0.5, 1.0]) == [2, 3]
    assert ranked_positions([9, 0.5, 0.7, 0.5, 9], [True, False, False, False, True]) == [2, 1, 3]


def test_tau_summary_hand_values():
    # identical orders: tau 1 (p = 2/24 for n=4 exact test -> 0.083 > 0.05); reversed: -1
    s = TauSummary.from_pairs([([1, 2, 3, 4], [1, 2, 3, 4]), ([1, 2, 3, 4], [4, 3, 2, 1])])
    assert (s.mean, s.std, s.n) == (0.0, 1.0, 2)
    assert s.frac_significant == 0.0
    long = TauSummary.from_pairs([(list(range(8)), list(range(8)))])
    assert long.mean == pytest.approx(1.0) and long.frac_significant == 1.0  # p = 2/8! < 0.05


def _pointer(method: str, expl: TokenExplanation, pos: int) -> TokenExplanation:
    scores = [0.0] * len(expl.tokens)
    scores[pos] = 1.0
    return TokenExplanation(method, expl.tokens, scores, expl.special, expl.prediction,
                            expl.target, expl.probabilities)


def test_aopc_ranks_the_explainer_pointing_at_the_known_token_first(good_detector):  # noqa: F811
    exs = [Example(t, label=y) for t, y in good_sentences(40, seed=11) if y == 1][:6]
    base = get_explainer("attention", good_detector).explain(exs)
    oracle = [_pointer("oracle", e, e.tokens.index("good")) for e in base]
    first = [_pointer("first_word", e, 1 if e.tokens[1] != "good" else 2) for e in base]
    last = [_pointer("last_word", e, len(e.tokens) - 2 if e.tokens[-2] != "good" else len(e.tokens) - 3)
            for e in base]
    rep = FaithfulnessEvaluator(good_detector).evaluate(
        exs, {"first_word": first, "oracle": oracle, "last_word": last, "attention": base},
        pairs=[("oracle", "attention")])
    assert rep.ranking[0] == "oracle"
    by = {m.method: m for m in rep.methods}
    # removing 'good' flips the detector: comprehensiveness of the 1% bin is large
    assert by["oracle"].comprehensiveness[0] > 0.5
    assert by["first_word"].comprehensiveness[0] < 0.1
    # keeping only 'good' is sufficient, keeping only another word is not
    assert by["oracle"].sufficiency[0] < by["first_word"].sufficiency[0] - 0.3
    assert by["oracle"].aopc_comprehensiveness == pytest.approx(sum(by["oracle"].comprehensiveness) / 5)
    for m in rep.methods:  # per-example AOPCs (for intervals) average to the AOPC
        assert len(m.aopc_comprehensiveness_per_example) == len(exs)
        assert sum(m.aopc_comprehensiveness_per_example) / len(exs) == pytest.approx(m.aopc_comprehensiveness)
        assert sum(m.aopc_sufficiency_per_example) / len(exs) == pytest.approx(m.aopc_sufficiency)
    # leave-one-out importance is largest at 'good', so the oracle agrees with it positively
    assert by["oracle"].tau_loo.mean > 0 and by["oracle"].tau_loo.n == 6
    assert rep.removal_token == "[MASK]" and "oracle~attention" in rep.pairwise_tau
    with pytest.raises(AttributionInputError):
        FaithfulnessEvaluator(good_detector).evaluate(exs, {"oracle": oracle[:2]})
    with pytest.raises(AttributionInputError):
        FaithfulnessEvaluator(good_detector).evaluate(exs, {"oracle": oracle}, bins=[0.0])


def test_tau_undefined_examples_are_counted_and_named_never_nan():
    # example 2: leave-one-out constant (a saturated model); example 3: one token only
    s = TauSummary.from_pairs([([1, 2, 3], [1, 2, 3]), ([3, 1, 2], [0.0, 0.0, 0.0]), ([1], [1])])
    assert (s.mean, s.n, s.n_total) == (1.0, 1, 3)
    assert s.undefined == {"constant leave-one-out": 1, "fewer than two tokens": 1}
    assert s.note == ("undefined for 2 of 3 examples: constant leave-one-out (1), "
                      "fewer than two tokens (1)")
    none = TauSummary.from_pairs([([3, 1, 2], [0.5, 0.5, 0.5])] * 4)
    assert (none.mean, none.std, none.frac_significant, none.n) == (None, None, None, 0)
    assert none.note == "undefined for 4 of 4 examples: constant leave-one-out"
    assert "nan" not in json.dumps(none.to_json(), allow_nan=False).lower()
    assert TauSummary.from_pairs([([1, 2], [2, 1])]).note == ""


def test_faithfulness_of_a_constant_model_reports_ties_not_nan(tmp_path):
    """A classifier whose weights are zero outputs the same probability for every input, so
    leave-one-out importance is all ties: tau is undefined on every example and says why."""
    from attribution import load_classifier
    from tests.tiny_models import build_constant_model

    loaded = load_classifier(build_constant_model(tmp_path / "constant"))
    exs = [Example("good movie plot", label=1), Example("the bad acting was dull", label=0)]
    expl = {name: get_explainer(name, loaded).explain(exs) for name in ("attention", "grad_input")}
    rep = FaithfulnessEvaluator(loaded).evaluate(exs, expl, pairs=[("attention", "grad_input")])
    for m in rep.methods:
        assert m.tau_loo.mean is None and m.tau_loo.n == 0 and m.tau_loo.n_total == 2
        assert m.tau_loo.note == "undefined for 2 of 2 examples: constant leave-one-out"
    assert rep.pairwise_tau["attention~grad_input"].note == (
        "undefined for 2 of 2 examples: constant grad_input scores")
    text = json.dumps(rep.to_json(), allow_nan=False)
    assert "nan" not in text.lower() and "constant leave-one-out" in text
