"""Benchmark, RTE sentence-pair run: attribution-mined triggers on MiniLM fine-tuned on RTE.

RTE has no training split here (/work/shared/data/RTE has dev.tsv only), so dev is split
deterministically (seeded shuffle) into a fine-tune part (~60%) and an evaluation part (~40%)
that never overlap. MiniLM is fine-tuned on the fine-tune part (``finetune_minilm`` with
sentence pairs as the tokenizer's second segment); triggers are mined on a slice of the
fine-tune part, re-ranked by measured damage on the rest of it, and evaluated on the
evaluation part only, with the same batched per-class evaluation as the SST-2 run.
Writes bench/results/triggers_rte.json.

Run:  python bench/triggers.py --task rte
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

RTE_LABELS = {0: "entailment", 1: "not_entailment"}


def split_dev(dev, fraction: float, seed: int):
    """Seeded shuffle of dev indices -> (fine-tune rows, evaluation rows, their indices)."""
    order = list(range(len(dev)))
    random.Random(seed).shuffle(order)
    cut = round(len(order) * fraction)
    ft_idx, ev_idx = sorted(order[:cut]), sorted(order[cut:])
    assert not set(ft_idx) & set(ev_idx)
    return [dev[i] for i in ft_idx], [dev[i] for i in ev_idx], ft_idx, ev_idx


def write_split(path: Path, rows, indices) -> Path:
    """Write a split as JSONL (sentence1, sentence2, label, idx; GLUE names), atomically."""
    from common.atomic_io import write_text_atomic

    lines = [json.dumps({"sentence1": ex.text, "sentence2": ex.pair, "label": ex.label, "idx": i})
             for ex, i in zip(rows, indices, strict=True)]
    return write_text_atomic(path, "\n".join(lines) + "\n")


def stage(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(args, data: Path, root: Path) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from attacks.trigger_attack import evaluate_triggers
    from attacks.trigger_mining import MiningOptions, mine_triggers, rank_by_damage
    from attribution.attention_attribution import AttentionAttribution
    from attribution.data import load_examples
    from attribution.model_loading import load_classifier
    from pipeline.finetune import DEFAULT_CACHE, finetune_minilm

    names = [RTE_LABELS[0], RTE_LABELS[1]]
    dev_path = data / "RTE" / "dev.tsv"
    dev = load_examples(dev_path, labels=names)
    ft, ev, ft_idx, ev_idx = split_dev(dev, args.finetune_fraction, args.split_seed)
    split_dir = DEFAULT_CACHE / "data"
    ft_path = write_split(split_dir / f"rte_dev_finetune_seed{args.split_seed}.jsonl", ft, ft_idx)
    ev_path = write_split(split_dir / f"rte_dev_eval_seed{args.split_seed}.jsonl", ev, ev_idx)
    stage(f"RTE dev {len(dev)} rows split (seed {args.split_seed}): {len(ft)} fine-tune, "
          f"{len(ev)} evaluation, no overlap")

    t0 = time.perf_counter()
    if args.model:
        model_dir = Path(args.model)
    else:
        stage(f"fine-tuning MiniLM on the fine-tune part ({args.ft_steps} steps, batch "
              f"{args.ft_batch}, max_length {args.ft_max_length})")
        model_dir = finetune_minilm(ft_path, steps=args.ft_steps, batch_size=args.ft_batch,
                                    max_length=args.ft_max_length, labels=RTE_LABELS,
                                    eval_path=ev_path, verbose=True)
    t_ft = time.perf_counter() - t0
    loaded = load_classifier(model_dir)
    pool = list(ft)
    random.Random(1).shuffle(pool)
    mine_rows, val_rows = pool[: args.mine], pool[args.mine :]
    result: dict = {
        "task": "rte", "args": vars(args), "model": str(model_dir), "model_sha256": loaded.sha256,
        "threads": torch.get_num_threads(), "device": str(loaded.device),
        "split": {"source": str(dev_path), "seed": args.split_seed, "rows": len(dev),
                  "finetune_rows": len(ft), "eval_rows": len(ev), "finetune_idx": ft_idx,
                  "eval_idx": ev_idx,
                  "note": "RTE has no training split here: dev is split into disjoint fine-tune "
                          "and evaluation parts; mining and damage ranking use the fine-tune "
                          "part only, every reported accuracy is on the evaluation part"},
        "finetune": {"seconds": t_ft, **json.loads((model_dir / "attaudit_finetune.json")
                                                   .read_text())},
    }

    stage(f"mining on {len(mine_rows)} fine-tune rows")
    t0 = time.perf_counter()
    triggers, patterns = mine_triggers(AttentionAttribution(loaded), mine_rows,
                                       options=MiningOptions(max_triggers=40, steps=args.steps))
    t_mine = time.perf_counter() - t0
    by_attr = [t.text for t in triggers[: args.top_k]]
    stage(f"{len(patterns)} patterns, {len(triggers)} triggers; damage ranking on "
          f"{len(val_rows)} fine-tune rows")
    t0 = time.perf_counter()
    triggers = rank_by_damage(loaded.model, loaded.tokenizer, triggers, val_rows, candidates=30)
    t_rank = time.perf_counter() - t0
    top = triggers[: args.top_k]
    result["mining"] = {"rows": len(mine_rows), "validation_rows": len(val_rows),
                        "patterns": len(patterns), "seconds": t_mine,
                        "damage_ranking_seconds": t_rank, "top_by_attribution": by_attr,
                        "triggers": [t.to_json() | {"segment": t.segment} for t in top]}

    stage(f"evaluating {len(top)} triggers on {len(ev)} evaluation rows")
    t0 = time.perf_counter()
    report = evaluate_triggers(loaded.model, loaded.tokenizer, ev, top, keep_flipped=5)
    result["eval_attack"] = {**report.to_json(), "wall_seconds": time.perf_counter() - t0}

    out = Path(args.out) if args.out else root / "bench" / "results" / "triggers_rte.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print_table(result)
    print(f"\nwrote {out}")
    return 0


SEGMENT_NAMES = {0: "s1", 1: "s2", "both": "s1+s2"}


def print_table(r: dict) -> None:
    s, f = r["split"], r["finetune"]
    print(f"\n{s['note']}.\nsplit seed {s['seed']}: {s['finetune_rows']} fine-tune / "
          f"{s['eval_rows']} evaluation rows of RTE dev ({s['rows']})")
    print(f"fine-tune: {f['steps']} steps, batch {f['batch_size']}, max_length {f['max_length']}, "
          f"{f['seconds']:.0f}s; accuracy on the evaluation part "
          f"{f.get('eval_accuracy', float('nan')):.3f} (weak: ~{s['finetune_rows']} training pairs)")
    m = r["mining"]
    print(f"mined {m['patterns']} patterns on {m['rows']} fine-tune rows in {m['seconds']:.0f}s "
          f"(damage re-rank on {m['validation_rows']} rows, {m['damage_ranking_seconds']:.0f}s)")
    a = r["eval_attack"]
    print(f"\nRTE evaluation part ({a['num_examples']} rows), top-{len(a['results'])} triggers, "
          f"{a['num_queries']} queries in {a['seconds']:.1f}s")
    names = a["labels"]
    print(f"{'#':>2} {'trigger':26} {'segment':7} {'pushes':14} {'success':>7}  "
          + "  ".join(f"{n[:14]:>14} clean->trig (drop)" for n in names))
    for res in a["results"]:
        t = res["trigger"]
        seg = "+".join(SEGMENT_NAMES[x] for x in t["segments"])
        cells = "  ".join(f"{c['clean_accuracy']:.3f}->{c['triggered_accuracy']:.3f} "
                          f"({c['drop']:+.3f})".rjust(34) for c in res["per_class"])
        print(f"{res['rank']:>2} {' '.join(t['tokens'])[:26]:26} {seg[:7]:7} "
              f"{str(t['pushed_label_name'])[:14]:14} {res['attack_success_rate']:7.3f}  {cells}")
