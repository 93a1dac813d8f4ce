"""Fixtures for the head/explainer tests (imported by the test modules that use them)."""

from __future__ import annotations

import functools
import random
import tempfile

import pytest
import torch

from tests.tiny_models import build_tiny_model

FILLER = "the a movie film plot actor story cast scene music cat dog sat mat ran home red big".split()


@pytest.fixture(scope="session")
def tiny_loaded(tmp_path_factory):
    """A random 2-layer, 4-head tiny BERT (hidden 16) loaded through the engine."""
    from attribution.model_loading import load_classifier

    path = build_tiny_model(tmp_path_factory.mktemp("tiny4h"), heads=4, layers=2, seed=3)
    return load_classifier(path, device="cpu")


def good_sentences(n: int, seed: int) -> list[tuple[str, int]]:
    """Sentences of 6-9 filler words; label 1 iff the word 'good' was inserted."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(FILLER) for _ in range(rng.randint(6, 9))]
        label = rng.random() < 0.5
        if label:
            words.insert(rng.randrange(1, len(words)), "good")
        out.append((" ".join(words), int(label)))
    return out


@functools.lru_cache(maxsize=1)
def _good_detector_path():
    """Train once per process (fixtures imported into several modules would train again)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = build_tiny_model(tempfile.mkdtemp(prefix="good-detector-"), layers=2, heads=2, hidden=16, seed=0)
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, attn_implementation="eager")
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    data = good_sentences(2048, seed=1)
    model.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # two threads on two busy cores are ~30x slower for this size
    for step in range(150):
        batch = data[(step * 32) % len(data):][:32]
        enc = tok([t for t, _ in batch], padding=True, return_tensors="pt")
        loss = model(**enc, labels=torch.tensor([y for _, y in batch])).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.set_num_threads(threads)
    model.eval()
    model.save_pretrained(path, safe_serialization=True)
    return path


@pytest.fixture(scope="session")
def good_detector():
    """A tiny BERT trained (seeded, ~4 s) so that its output depends on one token: 'good'."""
    from attribution.model_loading import load_classifier

    return load_classifier(_good_detector_path(), device="cpu")
