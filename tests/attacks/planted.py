"""A planted-shortcut task and a tiny BERT trained on it in seconds (CPU).

Label 1 ("planted") iff the sentence contains BOTH words of the planted pair; sentences with
only one of the two words are label 0, so the model must use the pair, not a single word.
"""

from __future__ import annotations

import random
from pathlib import Path

from attribution.data import Example as Ex

PAIR = ("red", "dog")
FILLER = (
    "the a movie film plot actor story fun is was it this that of in on to with for as cast "
    "scene music cat sat mat ran home blue green big small old new very quite"
).split()


def make_examples(n: int, seed: int, *, pair_task: bool = False) -> list[Ex]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = rng.choices(FILLER, k=rng.randint(5, 9))
        kind = i % 4  # 0: both words (label 1); 1: only first; 2: only second; 3: neither
        planted = {0: PAIR, 1: PAIR[:1], 2: PAIR[1:], 3: ()}[kind]
        for w in planted:
            words.insert(rng.randint(0, len(words)), w)
        second = None
        if pair_task:
            second = " ".join(rng.choices(FILLER, k=rng.randint(3, 6)))
        out.append(Ex(" ".join(words), second, int(kind == 0)))
    return out


def train_planted_model(out_dir: Path, *, seed: int, steps: int = 250, pair_task: bool = False,
                        saturate: bool = False) -> Path:
    """Build a tiny BERT (2 layers, 2 heads, hidden 32), train it on the planted task, save.

    ``saturate=True`` trains without label smoothing and twice as long, so the probabilities
    saturate (p ~ 0.999, as on a fine-tuned production model) and absolute attributions are tiny.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from tests.tiny_models import build_tiny_model

    path = build_tiny_model(out_dir, layers=2, heads=2, hidden=32, seed=seed,
                            id2label={0: "other", 1: "planted"})
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: threading only adds contention on shared cores
    try:
        _train(model, tok, seed=seed, steps=2 * steps if saturate else steps, pair_task=pair_task,
               smoothing=0.0 if saturate else 0.2)
    finally:
        torch.set_num_threads(threads)
    model.save_pretrained(path, safe_serialization=True)
    return path


def _train(model, tok, *, seed: int, steps: int, pair_task: bool, smoothing: float) -> None:
    import torch

    torch.manual_seed(seed)
    data = make_examples(2000, seed, pair_task=pair_task)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = random.Random(seed)
    model.train()
    for _ in range(steps):
        batch = rng.sample(data, 32)
        enc = tok([e.text for e in batch], [e.pair for e in batch] if pair_task else None,
                  padding=True, return_tensors="pt")
        logits = model(**enc).logits
        # label smoothing keeps probabilities off 0/1, so probability attributions stay visible
        loss = torch.nn.functional.cross_entropy(
            logits, torch.tensor([e.label for e in batch]), label_smoothing=smoothing)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
