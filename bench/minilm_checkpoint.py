"""The fine-tuned MiniLM the benchmarks run on: ``pipeline.finetune`` (cached, SST-2 train), and
the model options every model benchmark shares (``--model``, ``--threads``, ``--out``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.finetune import default_sst2_dir, finetune_minilm

SST2 = default_sst2_dir() or Path("../shared/data/SST-2")
RESULTS = Path(__file__).resolve().parent / "results"


def minilm_checkpoint(*, steps: int = 200, seed: int = 0) -> Path:
    """Fine-tune (first call) or fetch (cached) MiniLM on ``SST2/train.tsv``."""
    return finetune_minilm(SST2 / "train.tsv", steps=steps, seed=seed,
                           eval_path=SST2 / "dev.tsv", verbose=True)


def add_model_args(ap: argparse.ArgumentParser) -> None:
    """``--model`` (default: the fine-tuned MiniLM), ``--threads`` and ``--out``."""
    ap.add_argument("--model", type=Path, help="classifier directory (default: fine-tuned MiniLM)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--out", type=Path, default=RESULTS)


def load_bench_model(args: argparse.Namespace):
    """Apply ``--threads`` and load ``--model`` (or the fine-tuned MiniLM); returns (dir, loaded)."""
    import torch

    from attribution.model_loading import load_classifier

    if args.threads:
        torch.set_num_threads(args.threads)
    ckpt = args.model or minilm_checkpoint()
    return ckpt, load_classifier(ckpt)


if __name__ == "__main__":
    print(minilm_checkpoint())
