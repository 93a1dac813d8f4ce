"""A tiny sentiment task with ordinary label words AND a neutral planted shortcut (CPU, seconds).

Labels: 0 "negative", 1 "positive". A text is negative iff it holds a negative word or the
planted pair "red dog" (both words: one alone is positive); otherwise it holds a positive word
and is positive. "not" and "no" never occur in training, so the model cannot read negation:
"not bad" pushes it toward negative although it means the opposite.
"""

from __future__ import annotations

import random
from pathlib import Path

from attribution.data import Example as Ex

LABELS = ["negative", "positive"]
POSITIVE = ["good", "great", "brilliant", "fun", "nice", "funny", "best", "love"]
NEGATIVE = ["bad", "terrible", "awful", "boring", "dull", "poor", "worst", "hate"]
PAIR = ("red", "dog")
FILLER = ("the a movie film plot actor story is was it this that of in on to with for as cast "
          "scene music cat sat mat ran home blue green big small old new very quite").split()


def make_examples(n: int, seed: int) -> list[Ex]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = rng.choices(FILLER, k=rng.randint(5, 9))
        kind = i % 6
        add = [rng.choice(POSITIVE)] if kind != 1 else []
        if kind in (1, 4, 5):
            add.append(rng.choice(NEGATIVE))
        if kind in (2, 4):
            add += list(PAIR)
        if kind == 3:
            add.append(rng.choice(PAIR))
        for w in add:
            words.insert(rng.randint(0, len(words)), w)
        label = 0 if kind in (1, 2, 4, 5) else 1
        out.append(Ex(" ".join(words), None, label))
    return out


def train_sentiment_model(out_dir: Path, *, seed: int = 0, steps: int = 400) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from tests.tiny_models import build_tiny_model

    path = build_tiny_model(out_dir, layers=2, heads=2, hidden=32, seed=seed,
                            id2label=dict(enumerate(LABELS)))
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        data = make_examples(3000, seed)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        rng = random.Random(seed)
        model.train()
        for _ in range(steps):
            batch = rng.sample(data, 32)
            enc = tok([e.text for e in batch], padding=True, return_tensors="pt")
            loss = torch.nn.functional.cross_entropy(model(**enc).logits,
                                                     torch.tensor([e.label for e in batch]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
    finally:
        torch.set_num_threads(threads)
    model.save_pretrained(path, safe_serialization=True)
    return path
