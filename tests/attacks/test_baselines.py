"""TextAttack's own recipes through Attacker on the same examples (real TextAttack)."""

import pytest
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from attacks.trigger_file import TriggerFileError
from tests.attacks.planted import make_examples

pytestmark = pytest.mark.textattack


@pytest.fixture(scope="module")
def wrapper(planted_model_dir):
    from attacks.model_wrapper import DynamicPaddingModelWrapper

    model = AutoModelForSequenceClassification.from_pretrained(planted_model_dir).eval()
    return DynamicPaddingModelWrapper(model, AutoTokenizer.from_pretrained(planted_model_dir))


def test_deepwordbug_counts_add_up(wrapper):
    from attacks.baselines import run_baseline

    examples = make_examples(8, 4)
    clean = wrapper([e.text for e in examples]).argmax(-1).tolist()
    wrong = sum(p != e.label for p, e in zip(clean, examples, strict=True))
    s = run_baseline("deepwordbug", wrapper, examples)
    assert s.num_examples == 8 and s.succeeded + s.failed + s.skipped == 8
    assert s.skipped == wrong
    # the planted label hangs on two words: one character edit of either flips it
    planted_ok = sum(p == e.label == 1 for p, e in zip(clean, examples, strict=True))
    assert s.succeeded >= planted_ok
    assert s.avg_queries > 1


@pytest.mark.slow  # loading WordNet into NLTK takes most of a minute on 2 cores
def test_pwws_runs_offline_when_wordnet_is_installed(wrapper):
    from attacks.baselines import available_baselines, run_baseline

    if "pwws" not in available_baselines():
        pytest.fail("WordNet from Debian's wordnet-base/wordnet-sense-index is not installed")
    s = run_baseline("pwws", wrapper, make_examples(4, 6))
    assert s.succeeded + s.failed + s.skipped == 4


def test_unknown_baseline(wrapper):
    from attacks.baselines import run_baseline

    with pytest.raises(TriggerFileError, match="valid: deepwordbug, pruthi"):
        run_baseline("textfooler", wrapper, make_examples(2, 0))
