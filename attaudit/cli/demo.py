"""`attaudit demo`: fine-tune MiniLM briefly on SST-2, then run the full audit on SST-2 dev.

Data, in order: ``--data`` (a folder with ``train.tsv`` and ``dev.tsv``), ``../shared/data/SST-2``
next to the repository, or GLUE ``sst2`` through ``datasets`` when a hub is reachable (exported
to TSV under ``~/.cache/attaudit/glue-sst2``). The budgets are sized so fine-tune plus audit
finish in under 15 minutes on 2 CPU cores; the fine-tuned checkpoint is cached.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

from attaudit.cli.audit_run import build_config, run_audit
from attaudit.cli.errors import UserError
from common.audit_config import STAGE_NAMES

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_SST2 = REPO_ROOT.parent / "shared" / "data" / "SST-2"
CACHE = Path(os.environ.get("ATTAUDIT_CACHE_DIR", Path.home() / ".cache" / "attaudit"))

# Budgets for the demo (measured: see README "make demo").
DEMO_CONFIG = dict(
    stages=None,  # every available stage
    examples=6, eval_examples=200, mining_examples=80, importance_examples=48, pruning_examples=48,
    baseline_examples=12, steps=6, triggers=5, heads_orderings=["attattr", "attention", "random"],
    baselines=["deepwordbug"], mining_fraction=0.3, importance_fraction=0.15, seed=0,
)


def _glue_sst2() -> Path:
    """Export GLUE sst2 (train, validation) from the hub to TSV; UserError when offline."""
    out = CACHE / "glue-sst2"
    if (out / "train.tsv").is_file() and (out / "dev.tsv").is_file():
        return out
    try:
        from datasets import load_dataset

        ds = load_dataset("glue", "sst2")
    except Exception as exc:  # noqa: BLE001 - any hub failure means "no data available"
        raise UserError("no SST-2 data: pass --data DIR (with train.tsv and dev.tsv), put the repo "
                        f"next to shared/data/SST-2, or go online for GLUE sst2 ({type(exc).__name__})") from None
    out.mkdir(parents=True, exist_ok=True)
    for split, name in (("train", "train.tsv"), ("validation", "dev.tsv")):
        tmp = out / f".{name}.tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, delimiter="\t", quoting=csv.QUOTE_MINIMAL)
            w.writerow(["sentence", "label"])
            for row in ds[split]:
                w.writerow([row["sentence"], row["label"]])
        tmp.replace(out / name)
    return out


def resolve_sst2(data: Path | None) -> Path:
    """The folder holding SST-2 ``train.tsv`` and ``dev.tsv``."""
    if data is not None:
        if not (data / "train.tsv").is_file() or not (data / "dev.tsv").is_file():
            raise UserError(f"--data {data}: expected a folder with train.tsv and dev.tsv")
        return data
    if (SHARED_SST2 / "train.tsv").is_file() and (SHARED_SST2 / "dev.tsv").is_file():
        return SHARED_SST2
    return _glue_sst2()


def register(subparsers: argparse._SubParsersAction) -> None:
    d = subparsers.add_parser("demo", help="fine-tune MiniLM on SST-2 and audit it (offline)",
                              description="Fine-tune MiniLM briefly on SST-2, then run the full audit.")
    d.add_argument("--data", type=Path, help="SST-2 folder with train.tsv and dev.tsv "
                   "(default: ../shared/data/SST-2 next to the repo, else GLUE sst2 when online)")
    d.add_argument("--finetune-steps", type=int, default=None, help="fine-tuning steps")
    d.add_argument("--stages", nargs="+", metavar="STAGE", choices=STAGE_NAMES)
    d.add_argument("--out", type=Path, default=Path("out/demo"))
    d.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pipeline.stages import available_stages

    sst2 = resolve_sst2(args.data)
    try:
        from pipeline.finetune import finetune_minilm
    except ImportError as exc:
        raise UserError(f"the demo needs pipeline.finetune ({exc})") from None
    kwargs = {} if args.finetune_steps is None else {"steps": args.finetune_steps}
    print(f"demo: fine-tuning MiniLM on {sst2 / 'train.tsv'} (cached after the first run)")
    with tqdm(total=1000, desc="fine-tune  ", file=sys.stderr,
              bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}") as bar:
        def tick(fraction: float) -> None:
            bar.update(max(0, int(fraction * 1000) - bar.n))

        model_dir = finetune_minilm(sst2 / "train.tsv", cache_dir=CACHE, progress=tick, **kwargs)
    from common.hashing import file_sha256

    # the trigger words' label association comes from SST-2 train, never the audited dev rows
    defaults = dict(DEMO_CONFIG, stages=args.stages or available_stages(),
                    reference_data=str((sst2 / "train.tsv").resolve()),
                    reference_data_sha256=file_sha256(sst2 / "train.tsv"))
    config = build_config(argparse.Namespace(), **defaults)
    print(f"demo: auditing {model_dir} on {sst2 / 'dev.tsv'} (stages: {', '.join(config.stages)})")
    run_audit(Path(model_dir), sst2 / "dev.tsv", config, args.out, CACHE / "audits")
    return 0
