import random
from collections import Counter

from transformers import AutoModelForSequenceClassification, AutoTokenizer

from attacks.probes import keyword_reliance, probe_text
from tests.attacks.planted import make_examples


def test_probe_texts_keep_the_bag():
    rng = random.Random(0)
    text = "the red dog sat on a mat"
    shuffled = probe_text("shuffled", text, rng)
    assert Counter(shuffled.split()) == Counter(text.split())
    scrambled = probe_text("scrambled", text, rng)
    assert Counter(scrambled.replace(" ", "")) == Counter(text.replace(" ", ""))
    assert len(scrambled.split()) == 7


def test_planted_model_is_a_keyword_matcher(planted_model_dir):
    model = AutoModelForSequenceClassification.from_pretrained(planted_model_dir).eval()
    tok = AutoTokenizer.from_pretrained(planted_model_dir)
    report = keyword_reliance(model, tok, make_examples(120, 3), labels=["other", "planted"])
    # the pair decides wherever it stands: word order does not matter ...
    assert report["shuffled"]["kept"] > 0.9 and report["keyword_reliance"] is True
    # ... but unreadable words destroy the keywords, so planted inputs lose their label
    assert report["scrambled"]["per_class"]["planted"]["accuracy"] < 0.3
    assert report["scrambled"]["per_class"]["other"]["accuracy"] > 0.9
