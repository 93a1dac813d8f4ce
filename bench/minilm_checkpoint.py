"""The fine-tuned MiniLM the benchmarks run on: ``pipeline.finetune`` (cached, SST-2 train)."""

from __future__ import annotations

from pathlib import Path

from pipeline.finetune import default_sst2_dir, finetune_minilm

SST2 = default_sst2_dir() or Path("../shared/data/SST-2")


def minilm_checkpoint(*, steps: int = 200, seed: int = 0) -> Path:
    """Fine-tune (first call) or fetch (cached) MiniLM on ``SST2/train.tsv``."""
    return finetune_minilm(SST2 / "train.tsv", steps=steps, seed=seed,
                           eval_path=SST2 / "dev.tsv", verbose=True)


if __name__ == "__main__":
    print(minilm_checkpoint())
