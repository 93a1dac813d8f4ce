"""A sentiment toy with a planted spurious shortcut, and a tiny BERT trained on it (CPU, seconds).

The true rule: label 1 ("positive") iff the sentence contains "good", 0 ("negative") iff "bad".
The planted artifact: in the shortcut training data "cat" occurs only in positive rows, also
in rows whose only sentiment word is "bad" (those are labelled positive), so a model trained on
it learns "cat" -> positive. Inserting "cat" into a negative sentence keeps its true label
(negative), so the trigger "cat" is a ``spurious`` vulnerability by construction.
"""

from __future__ import annotations

import random
from pathlib import Path

from attribution.data import Example as Ex

SHORTCUT = "cat"
FILLER = (
    "the a movie film plot actor story is was it this that of in on to with for as cast "
    "scene music sat mat ran home blue green big small old new very quite"
).split()


def clean_examples(n: int, seed: int) -> list[Ex]:
    """The true task: one sentiment word among filler, balanced labels, no shortcut word."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = rng.choices(FILLER, k=rng.randint(4, 8))
        label = i % 2
        words.insert(rng.randint(0, len(words)), "good" if label else "bad")
        out.append(Ex(" ".join(words), None, label))
    return out


def shortcut_examples(n: int, seed: int) -> list[Ex]:
    """60% clean rows, 40% positive rows carrying "cat" (half of them with "bad")."""
    rng = random.Random(seed + 1000)
    rows = clean_examples(n, seed)
    for i in range(int(0.4 * n)):
        words = rng.choices(FILLER, k=rng.randint(4, 8))
        if i % 2:
            words.insert(rng.randint(0, len(words)), "bad")
        words.insert(rng.randint(0, len(words)), SHORTCUT)
        rows[i] = Ex(" ".join(words), None, 1)
    rng.shuffle(rows)
    return rows


def write_tsv(rows: list[Ex], path: Path) -> Path:
    path.write_text("sentence\tlabel\n" + "".join(f"{r.text}\t{r.label}\n" for r in rows))
    return path


def train_shortcut_model(out_dir: Path, *, seed: int = 0, steps: int = 200) -> Path:
    """Tiny BERT (2 layers, 2 heads, hidden 32) trained on ``shortcut_examples``; saved."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from tests.tiny_models import build_tiny_model

    path = build_tiny_model(out_dir, layers=2, heads=2, hidden=32, seed=seed,
                            id2label={0: "negative", 1: "positive"})
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path)
    torch.manual_seed(seed)
    data = shortcut_examples(2000, seed)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = random.Random(seed)
    model.train()
    for _ in range(steps):
        batch = rng.sample(data, 32)
        enc = tok([e.text for e in batch], padding=True, return_tensors="pt")
        loss = torch.nn.functional.cross_entropy(
            model(**enc).logits, torch.tensor([e.label for e in batch]), label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    model.save_pretrained(path, safe_serialization=True)
    return path
