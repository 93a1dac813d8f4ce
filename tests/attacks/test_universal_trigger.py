from attacks.trigger_attack import evaluate_triggers
from attacks.universal_trigger import universal_trigger
from attribution.model_loading import load_classifier
from tests.attacks.planted import PAIR, make_examples


def test_hotflip_finds_a_trigger_on_the_planted_model(planted_model_dir):
    loaded = load_classifier(planted_model_dir)
    others = [e for e in make_examples(160, 8) if e.label == 0]
    found = universal_trigger(loaded.model, loaded.tokenizer, others, length=2, iterations=2,
                              candidates=10, seed=0)
    assert len(found.tokens) == 2 and all(not t.startswith("##") for t in found.tokens)
    assert found.history[-1][1] >= found.history[0][1]  # greedy: the batch loss never drops
    held_out = [e for e in make_examples(160, 9) if e.label == 0]
    res = evaluate_triggers(loaded.model, loaded.tokenizer, held_out, [found.as_trigger()]).results[0]
    # the only way to flip "other" inputs is the planted pair, and HotFlip finds it
    assert sorted(found.tokens) == sorted(PAIR)
    assert res.attack_success_rate > 0.8
