"""Benchmark, sentence pairs: mined triggers on MiniLM fine-tuned on RTE or MNLI, with kinds and verdict.

Tests the paper's headline pair-task claim (Hao et al. AAAI 2021, section 4.4: one mined pattern
collapses entailment accuracy) on real data, with per-class drops by kind:

* ``--task rte``: fine-tune on RTE train (2,490 pairs, ``shared/data/RTE/train.tsv``), evaluate
  on RTE dev (277 pairs). Mining and damage ranking use train rows only.
* ``--task mnli``: MNLI dev matched (``shared/data/MNLI/dev_matched.tsv``, 3 labels) split by a
  seeded shuffle (``--split-seed``, default 0) into a fine-tuning part (``--finetune-fraction``,
  default 70%) and an evaluation part (the first ``--eval-rows`` of the remaining 30%); the two
  never overlap, mining and damage ranking use the fine-tuning part only.

Kinds come from the label association of each trigger word per segment (premise / hypothesis)
in the fine-tuning rows outside the mining and validation slices; there is no judge here (an NLI
judge would need a second, independent NLI model, which is not available offline), so the kinds
are "data only" and a dataset artifact reads as label-bearing (see attacks.trigger_kinds).
Writes bench/results/triggers_rte.json or triggers_mnli.json.

Run:  python bench/triggers.py --task rte|mnli [--ft-steps N] [--model DIR]
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

RTE_LABELS = {0: "entailment", 1: "not_entailment"}
MNLI_LABELS = {0: "entailment", 1: "neutral", 2: "contradiction"}


def stage(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def write_jsonl(path: Path, rows) -> Path:
    from common.atomic_io import write_text_atomic

    lines = [json.dumps({"sentence1": ex.text, "sentence2": ex.pair, "label": ex.label}) for ex in rows]
    return write_text_atomic(path, "\n".join(lines) + "\n")


def _finetune():
    from pipeline.finetune import DEFAULT_CACHE, finetune_minilm

    return DEFAULT_CACHE, finetune_minilm


def load_task(args, data: Path):
    """(label map, fine-tune rows, evaluation rows, fine-tune file, evaluation file, split note)."""
    from attribution.data import load_examples

    cache, _ = _finetune()
    if args.task == "rte":
        names = [RTE_LABELS[0], RTE_LABELS[1]]
        ft = load_examples(data / "RTE" / "train.tsv", labels=names)
        ev = load_examples(data / "RTE" / "dev.tsv", labels=names)
        return (RTE_LABELS, ft, ev, data / "RTE" / "train.tsv", data / "RTE" / "dev.tsv",
                {"finetune": "RTE train.tsv", "evaluation": "RTE dev.tsv"})
    names = [MNLI_LABELS[i] for i in range(3)]
    rows = load_examples(data / "MNLI" / "dev_matched.tsv", labels=names)
    order = list(range(len(rows)))
    random.Random(args.split_seed).shuffle(order)
    cut = round(len(order) * args.finetune_fraction)
    ft_idx, ev_idx = order[:cut], order[cut:][: args.eval_rows]
    assert not set(ft_idx) & set(ev_idx)
    ft, ev = [rows[i] for i in ft_idx], [rows[i] for i in ev_idx]
    split = cache / "data"
    ft_path = write_jsonl(split / f"mnli_dm_finetune_seed{args.split_seed}.jsonl", ft)
    ev_path = write_jsonl(split / f"mnli_dm_eval_seed{args.split_seed}.jsonl", ev)
    return (MNLI_LABELS, ft, ev, ft_path, ev_path,
            {"source": "MNLI dev_matched.tsv", "rows": len(rows), "seed": args.split_seed,
             "finetune_fraction": args.finetune_fraction, "finetune_rows": len(ft), "eval_rows": len(ev),
             "note": "seeded shuffle of dev matched: the first fraction fine-tunes, the first "
                     "eval_rows of the rest evaluate; disjoint"})


def run(args, data: Path, root: Path) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from attacks.label_association import LabelAssociation
    from attribution.model_loading import load_classifier
    from bench.trigger_findings import mine_screen_evaluate, print_findings

    label_map, ft, ev, ft_path, ev_path, split = load_task(args, data)
    stage(f"{args.task}: {len(ft)} fine-tune rows, {len(ev)} evaluation rows")
    _, finetune_minilm = _finetune()
    t0 = time.perf_counter()
    if args.model:
        model_dir = Path(args.model)
    else:
        stage(f"fine-tuning MiniLM ({args.ft_steps} steps, batch {args.ft_batch}, max_length {args.ft_max_length})")
        model_dir = finetune_minilm(ft_path, steps=args.ft_steps, batch_size=args.ft_batch,
                                    max_length=args.ft_max_length, labels=label_map,
                                    eval_path=ev_path, verbose=True)
    t_ft = time.perf_counter() - t0
    loaded = load_classifier(model_dir)
    pool = list(ft)
    random.Random(1).shuffle(pool)
    mine_rows, val_rows = pool[: args.mine], pool[args.mine : args.mine + args.validation]
    reference = pool[args.mine + args.validation :]
    assoc = LabelAssociation.from_examples(reference, loaded.labels,
                                           source=f"{args.task} fine-tune rows minus mining/validation")
    ft_info = json.loads((model_dir / "attaudit_finetune.json").read_text()) \
        if (model_dir / "attaudit_finetune.json").is_file() else {}
    result: dict = {"task": args.task, "args": vars(args), "model": str(model_dir),
                    "model_sha256": loaded.sha256, "threads": torch.get_num_threads(), "split": split,
                    "finetune": {"seconds": t_ft, **ft_info}}
    found = mine_screen_evaluate(loaded, mine_rows, val_rows, ev, association=assoc, judges=[],
                                 top_k=args.top_k, bearing_k=args.bearing_k, candidates=args.candidates,
                                 steps=args.steps, stage=stage)
    result.update(found)
    out = Path(args.out) if args.out else root / "bench" / "results" / f"triggers_{args.task}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    acc = ft_info.get("eval_accuracy")
    print(f"\nfine-tuned MiniLM in {t_ft:.0f}s; evaluation accuracy "
          f"{'n/a' if acc is None else f'{acc:.3f}'}; split {split}")
    print_findings(result, f"{args.task.upper()} evaluation, MiniLM")
    print(f"\nwrote {out}")
    return 0
