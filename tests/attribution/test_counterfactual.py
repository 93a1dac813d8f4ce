"""Counterfactual attention tests on tiny BERTs whose attention matters, or not, by construction."""

from __future__ import annotations

import math

import pytest
import torch

from attribution.counterfactual.adversarial_attention import AdversarialAttention
from attribution.counterfactual.intervals import paired_difference, wilson
from attribution.counterfactual.measures import LN2, jsd, tvd
from attribution.counterfactual.permutation import PermutationTest, permutation_index, permute_rows
from attribution.counterfactual.uniform_attention import UniformAttentionBaseline
from attribution.data import Example, encode
from attribution.errors import AttributionInputError
from attribution.model_loading import load_classifier
from tests.attribution.counterfactual_models import build_counterfactual_model

TEXTS = ["the film was bad", "a very fun story with nice music", "the cast is awful and the plot too",
         "it is a great movie", "boring plot and dull acting", "i love this film so much"]
EXAMPLES = [Example(text=t, label=i % 2) for i, t in enumerate(TEXTS)]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("counterfactual")
    return {kind: load_classifier(build_counterfactual_model(root / kind, kind))
            for kind in ("linked", "irrelevant", "uniform")}


# -- measures and intervals ------------------------------------------------------------------
def test_tvd_and_jsd_hand_values():
    p, q = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    assert float(tvd(p, q)) == 1.0 and float(jsd(p, q)) == pytest.approx(LN2)
    assert float(jsd(p, p)) == 0.0
    a, b = torch.tensor([0.5, 0.5]), torch.tensor([1.0, 0.0])
    expected = 0.5 * (0.5 * math.log(0.5 / 0.75) + 0.5 * math.log(0.5 / 0.25)) + 0.5 * math.log(1 / 0.75)
    assert float(jsd(a, b)) == pytest.approx(expected)


def test_newcombe_paired_interval_against_scipy_wilson():
    from scipy.stats import binomtest

    # 2x2 table (a, b, c, d) = (12, 9, 2, 21): both right, first only, second only, neither
    first = [1] * 12 + [1] * 9 + [0] * 2 + [0] * 21
    second = [1] * 12 + [0] * 9 + [1] * 2 + [0] * 21
    diff, low, high = paired_difference(first, second)
    assert diff == pytest.approx(7 / 44)
    w1 = binomtest(21, 44).proportion_ci(method="wilson")
    w2 = binomtest(14, 44).proportion_ci(method="wilson")
    assert wilson(21, 44) == pytest.approx((w1.low, w1.high))
    p1, p2 = 21 / 44, 14 / 44
    phi = (12 * 21 - 9 * 2 - 22) / math.sqrt(21 * 23 * 14 * 30)  # continuity-corrected
    d_low = math.sqrt((p1 - w1.low) ** 2 - 2 * phi * (p1 - w1.low) * (w2.high - p2) + (w2.high - p2) ** 2)
    d_high = math.sqrt((w1.high - p1) ** 2 - 2 * phi * (w1.high - p1) * (p2 - w2.low) + (p2 - w2.low) ** 2)
    assert (low, high) == pytest.approx((diff - d_low, diff + d_high))
    assert 0 < low < diff < high < 0.3  # paired: narrower than Newcombe's unpaired interval
    # no disagreement at all: the point estimate is 0, yet the interval is not a point
    same = [1] * 30 + [0] * 10
    diff, low, high = paired_difference(same, same)
    assert diff == 0.0 and low < 0 < high
    lo, hi = wilson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(binomtest(0, 10).proportion_ci(method="wilson").high)


def test_permutation_index_moves_only_real_keys_and_keeps_rows_summing_to_one():
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]])
    probs = torch.softmax(torch.randn(2, 3, 6, 6).masked_fill(~mask.bool()[:, None, None], -1e9), -1)
    gen = torch.Generator().manual_seed(0)
    index = permutation_index(torch.rand(2, 3, 6, 6, generator=gen), mask)
    out = permute_rows(probs, index, torch.ones(2, 3, dtype=torch.bool), mask)
    assert torch.allclose(out.sum(-1), torch.ones(2, 3, 6))
    assert torch.equal(out[0, :, :, 4:], torch.zeros(3, 6, 2))  # padding keys keep weight 0
    assert torch.equal(out[0, :, 4:], probs[0, :, 4:])  # padding query rows untouched
    assert torch.equal(out.sort(-1).values, probs.sort(-1).values)  # a permutation of each row
    assert not torch.equal(out, probs)


@pytest.mark.parametrize("arch", ["bert", "roberta", "distilbert", "electra", "xlm-roberta"])
def test_tail_from_a_layer_equals_the_full_forward_with_the_same_override(loaded, arch):
    from attribution.counterfactual.batches import plain_forward, tail_probs
    from attribution.intervention import AttentionIntervention

    lc = loaded[arch]
    iv = AttentionIntervention(lc.model)
    enc = dict(encode(lc.tokenizer, EXAMPLES[:3]))
    plain = plain_forward(lc, iv, enc)

    def flip(probs):  # reverse every row's weights over the key axis
        return probs.flip(-1)

    for layer in range(iv.num_layers):
        with torch.no_grad():
            assert torch.allclose(tail_probs(lc, layer, plain.hidden[layer], enc["attention_mask"]),
                                  plain.probs, atol=1e-5)
            with iv.override(layer, flip):
                full = torch.softmax(lc.model(**enc).logits.float(), -1)
                tail = tail_probs(lc, layer, plain.hidden[layer], enc["attention_mask"])
        assert torch.allclose(tail, full, atol=1e-5) and not torch.allclose(full, plain.probs, atol=1e-4)


# -- permutation --------------------------------------------------------------------------------
def test_linked_model_fails_the_permutation_test(planted):
    res = PermutationTest(planted["linked"]).run(EXAMPLES, permutations=30)
    assert float(res.layer_change.min()) > 0.4  # the prediction follows the [CLS] -> 1 link
    assert float(res.head_change[:, 0, 0].min()) > 0.4  # head 0 carries the link
    assert float(res.head_change[:, 0, 1].abs().max()) < 1e-6  # head 1 is irrelevant
    row = res.to_json()["layers"][0]
    assert row["fraction_changed"] == 1.0 and row["mean_max_attention"] > 0.5


def test_irrelevant_attention_passes_permutation_unchanged(planted):
    res = PermutationTest(planted["irrelevant"]).run(EXAMPLES, permutations=10)
    assert float(res.layer_change.abs().max()) < 1e-6
    assert res.to_json()["layers"][0]["fraction_changed"] == 0.0


def test_permutation_results_do_not_depend_on_batching(planted):
    engine = PermutationTest(planted["linked"])
    a = engine.run(EXAMPLES, permutations=7, seed=3)
    b = engine.run(EXAMPLES, permutations=7, seed=3, max_rows=5)
    assert torch.equal(a.layer_change, b.layer_change) and torch.equal(a.head_change, b.head_change)
    c = engine.run(EXAMPLES[:1], permutations=7, seed=3)  # alone, no padding
    assert torch.equal(c.layer_change[0], a.layer_change[0])


# -- adversarial attention ---------------------------------------------------------------------
def test_linked_model_resists_the_adversarial_search(planted):
    res = AdversarialAttention(planted["linked"]).run(EXAMPLES, epsilon=0.01, steps=30)
    assert float(res.output_tvd.max()) <= 0.01  # feasibility check
    assert bool(res.prediction_kept.all())
    assert float(res.head_jsd[:, 0, 0].max()) < 0.05  # the link cannot move far
    assert float(res.head_jsd[:, 0, 1].min()) > 0.3  # the irrelevant head can


def test_irrelevant_attention_reaches_large_jsd(planted):
    res = AdversarialAttention(planted["irrelevant"]).run(EXAMPLES, epsilon=0.01, steps=30)
    assert float(res.output_tvd.max()) <= 0.01
    assert float(res.head_jsd[:, 0, 0].min()) > 0.9 * LN2  # peaked row -> a disjoint one
    row = res.to_json()["layers"][0]
    assert row["fraction_far"] == 1.0 and row["fraction_prediction_kept"] == 1.0


def test_adversarial_rejects_bad_epsilon(planted):
    with pytest.raises(AttributionInputError, match="epsilon"):
        AdversarialAttention(planted["linked"]).run(EXAMPLES, epsilon=0.0)


# -- uniform baseline ---------------------------------------------------------------------------
def test_uniform_baseline_equals_a_model_whose_attention_is_uniform(planted):
    engine = UniformAttentionBaseline(planted["uniform"])
    names, _scopes, flags = engine.variants(per_head=True)
    logits = engine.logits(EXAMPLES, flags)
    for v in range(1, len(names)):
        assert torch.equal(logits[v], logits[0]), names[v]
    enc = encode(planted["uniform"].tokenizer, EXAMPLES)
    with torch.no_grad():
        plain = planted["uniform"].model(**enc).logits
    assert torch.allclose(logits[0], plain, atol=1e-6)
    out = engine.run(EXAMPLES).to_json()
    assert out["all_layers"]["accuracy_drop"] == 0.0 and out["all_layers"]["n"] == len(EXAMPLES)


def test_uniform_baseline_changes_the_linked_model(planted):
    engine = UniformAttentionBaseline(planted["linked"])
    names, _scopes, flags = engine.variants(per_head=True)
    logits = engine.logits(EXAMPLES, flags)
    probs = torch.softmax(logits, -1)
    by = dict(zip(names, probs, strict=True))
    assert float(tvd(by["layer 0"], by["model"]).min()) > 0.3
    assert float(tvd(by["layer 0 head 0"], by["model"]).min()) > 0.3
    assert float(tvd(by["layer 0 head 1"], by["model"]).max()) < 1e-6  # already uniform


def test_uniform_needs_labels(planted):
    with pytest.raises(AttributionInputError, match="label"):
        UniformAttentionBaseline(planted["linked"]).run([Example(text="good movie")])


# -- verdict ------------------------------------------------------------------------------------
def _evidence(loaded, examples):
    return {
        "permutation": PermutationTest(loaded).run(examples, permutations=20).to_json(),
        "adversarial": AdversarialAttention(loaded).run(examples, steps=30).to_json(),
        "uniform": UniformAttentionBaseline(loaded).run(examples).to_json(),
    }


def test_verdict_on_planted_models(planted):
    from attribution.counterfactual.verdict import model_verdict

    positives = [Example(text=ex.text, label=1) for ex in EXAMPLES] * 2  # the linked model says 1
    linked = model_verdict(**_evidence(planted["linked"], positives),
                           pairwise_tau={"attention~grad_input": {"mean": 0.6, "n": 12}})
    assert linked["verdict"] == "supported" and not linked["layer_dependent"]
    layer = linked["layers"][0]
    assert layer["permutation"]["matters"] and layer["adversarial"]["unique"] and layer["uniform"]["needed"]
    assert linked["correlation"]["agrees"] and "n=12" in linked["correlation"]["evidence"]
    irrelevant = model_verdict(**_evidence(planted["irrelevant"], positives),
                               pairwise_tau={"attention~grad_input": {"mean": 0.05, "n": 12}})
    assert irrelevant["verdict"] == "not supported"
    assert irrelevant["layers"][0]["uniform"]["drop_ci95"][0] <= 0 <= irrelevant["layers"][0]["uniform"]["drop_ci95"][1]
    assert "does not agree" in irrelevant["summary"]


def test_verdict_says_where_it_is_layer_dependent():
    from attribution.counterfactual.verdict import model_verdict

    perm = {"n": 10, "change_threshold": 0.05, "layers": [
        {"layer": 0, "median_output_change": 0.2, "fraction_changed": 0.9},
        {"layer": 1, "median_output_change": 0.001, "fraction_changed": 0.0}]}
    adv = {"n": 10, "epsilon_tvd": 0.01, "far_threshold": 0.35, "layers": [
        {"layer": 0, "mean_jsd": 0.05, "fraction_far": 0.0},
        {"layer": 1, "mean_jsd": 0.6, "fraction_far": 1.0}]}
    out = model_verdict(permutation=perm, adversarial=adv)
    assert out["verdict"] == "layer-dependent" and out["layer_dependent"]
    assert out["layers_by_verdict"] == {"not supported": [1], "supported": [0]}
    assert out["used"] == ["permutation", "adversarial"]
    assert model_verdict()["verdict"] == "undetermined"


# -- adversarial model (optional experiment) ------------------------------------------------------
def test_adversarial_model_moves_irrelevant_attention_and_keeps_the_original(planted):
    from attribution.counterfactual.adversarial_model import AdversarialModel

    lc = planted["irrelevant"]
    before = {k: v.clone() for k, v in lc.model.state_dict().items()}
    res = AdversarialModel(lc).train(EXAMPLES, steps=30, lr=1e-2, batch_size=6)
    assert res.mean_tvd < 1e-6 and res.prediction_kept == 1.0  # values are identical: output fixed
    assert res.layer_jsd[0] > 0.2 and res.loss_last < res.loss_first - 0.1
    after = lc.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the original is untouched
