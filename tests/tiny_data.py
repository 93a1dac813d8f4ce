"""A small labelled TSV in the tiny models' vocabulary (sentiment words plus filler)."""

from __future__ import annotations

import random
from pathlib import Path

POS = ["good", "great", "brilliant", "fun", "nice", "best"]
NEG = ["bad", "terrible", "boring", "dull", "awful", "worst"]
FILL = ["the", "movie", "film", "plot", "acting", "story", "was", "is", "really", "quite", "cast", "music"]


def write_tsv(path: Path, n: int = 60, seed: int = 0) -> Path:
    rng = random.Random(seed)
    lines = ["sentence\tlabel"]
    for i in range(n):
        label = i % 2
        words = rng.sample(FILL, 4) + [rng.choice(POS if label else NEG)]
        rng.shuffle(words)
        lines.append(f"{' '.join(words)}\t{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
