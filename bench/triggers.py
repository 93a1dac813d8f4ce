"""Benchmark: attribution-mined triggers on MiniLM fine-tuned on SST-2, against TextAttack.

Prints a table and writes bench/results/triggers.json:
1. mine triggers on a slice of SST-2 *train* (never dev); set label-bearing candidates apart
   (VADER judge, attacks.trigger_kinds.split_label_bearing), re-rank the rest and the
   label-bearing ones by measured damage on another train slice;
2. per-class accuracy with/without each of the top-k triggers (plus the top label-bearing ones)
   on the whole SST-2 dev set; every trigger's kind (label association from the rest of SST-2
   train + the VADER lexicon judge), raw and judged drop, and the verdict (attacks.verdict);
3. throughput: the same top-k triggers on the same dev rows, our batched evaluation vs
   TextAttack's Attacker running the exported recipe (dynamic-padding wrapper, and
   TextAttack's own HuggingFaceModelWrapper on fewer rows);
4. the universal-trigger baseline (Wallace et al. 2019, HotFlip) scored like our triggers, and
   TextAttack baselines (deepwordbug, pruthi, input-reduction, pwws) on the same dev rows as
   our recipe through Attacker;
5. keyword-reliance probes on dev.

Run:  python bench/triggers.py [--model DIR] [--findings-only]
      python bench/triggers.py --task rte|mnli   (sentence pairs; see bench/triggers_pairs.py)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
DATA = ROOT.parent / "shared" / "data"
if not DATA.is_dir():
    DATA = Path("/work/shared/data")


def get_model(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    from bench.minilm_checkpoint import minilm_checkpoint

    return minilm_checkpoint()


def sample(examples, n, seed):
    rows = list(examples)
    random.Random(seed).shuffle(rows)
    return rows[:n]


def stage(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", choices=["sst2", "rte", "mnli"], default="sst2")
    ap.add_argument("--model")
    ap.add_argument("--mine", type=int, help="rows to mine on (default: sst2 96, rte 48)")
    ap.add_argument("--validation", type=int, default=128, help="train rows for damage ranking")
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument("--bearing-k", type=int, default=5, help="label-bearing candidates measured too")
    ap.add_argument("--candidates", type=int, default=30, help="mined candidates screened and damage-ranked")
    ap.add_argument("--steps", type=int, help="attribution quadrature nodes (default: engine's)")
    ap.add_argument("--dev-rows", type=int, help="evaluate on the first N dev rows (default all)")
    ap.add_argument("--throughput-rows", type=int, default=100)
    ap.add_argument("--hf-wrapper-rows", type=int, default=20)
    ap.add_argument("--baseline-rows", type=int, default=20)
    ap.add_argument("--baselines", default="deepwordbug,pruthi,input-reduction,pwws")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    ap.add_argument("--out", help="JSON path (default bench/results/triggers[_rte|_mnli].json)")
    ap.add_argument("--findings-only", action="store_true",
                    help="mine, classify and print the verdict; skip HotFlip, throughput, baselines, probes")
    pairs = ap.add_argument_group("pairs", "the RTE / MNLI runs (--task rte|mnli)")
    pairs.add_argument("--split-seed", type=int, default=0, help="MNLI: seed of the dev split")
    pairs.add_argument("--finetune-fraction", type=float, default=0.7,
                       help="MNLI: share of dev matched used for fine-tuning")
    pairs.add_argument("--eval-rows", type=int, default=600, help="MNLI: evaluation rows kept")
    pairs.add_argument("--ft-steps", type=int, default=300)
    pairs.add_argument("--ft-batch", type=int, default=16)
    pairs.add_argument("--ft-max-length", type=int, default=128)
    args = ap.parse_args()
    if args.task in ("rte", "mnli"):
        from bench.triggers_pairs import run

        args.mine = args.mine or 48
        return run(args, DATA, ROOT)
    args.mine = args.mine or 96
    args.out = args.out or str(ROOT / "bench" / "results" /
                               ("triggers_findings.json" if args.findings_only else "triggers.json"))

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from attacks.trigger_attack import evaluate_triggers
    from attacks.trigger_file import Trigger, TriggerSet, make_provenance, save_triggers
    from attribution.data import dataset_sha256, load_examples
    from attribution.model_loading import load_classifier

    model_dir = get_model(args.model)
    loaded = load_classifier(model_dir)
    labels = loaded.labels
    train = load_examples(DATA / "SST-2" / "train.tsv", labels=labels, limit=4000)
    dev = load_examples(DATA / "SST-2" / "dev.tsv", labels=labels, limit=args.dev_rows)
    pool = sample(train, args.mine + args.validation, seed=0)
    mine_rows, val_rows = pool[: args.mine], pool[args.mine :]
    result: dict = {"args": vars(args), "model": str(model_dir), "model_sha256": loaded.sha256,
                    "threads": torch.get_num_threads(), "device": str(loaded.device)}

    # Label association from SST-2 train outside the mining/validation rows; VADER as the judge.
    from attacks.judges import judges_from_specs
    from attacks.label_association import LabelAssociation
    from bench.trigger_findings import mine_screen_evaluate, print_findings

    used = {id(e) for e in pool}
    reference = [e for e in load_examples(DATA / "SST-2" / "train.tsv", labels=labels) if id(e) not in used]
    assoc = LabelAssociation.from_examples(reference, labels, source="SST-2 train minus mining rows")
    judges = judges_from_specs(["vader"], labels)
    found = mine_screen_evaluate(loaded, mine_rows, val_rows, dev, association=assoc, judges=judges,
                                 top_k=args.top_k, bearing_k=args.bearing_k, candidates=args.candidates,
                                 steps=args.steps, stage=stage)
    result.update(found)
    ranked = [f for f in found["findings"] if not f["set_apart_before_ranking"]]
    top = [Trigger.from_json(r["trigger"]) for r in found["attack"]["results"][: len(ranked)]]
    save_triggers(TriggerSet(top, labels=labels, provenance=make_provenance(
        model_sha256=loaded.sha256, dataset_sha256=dataset_sha256(DATA / "SST-2" / "train.tsv"),
        mining={"rows": len(mine_rows), "validation_rows": len(val_rows)})),
        Path(args.out).with_name("triggers_sst2_mined.json"))
    if args.findings_only:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1))
        print_findings(result, f"SST-2 dev, MiniLM ({loaded.source})")
        print(f"\nwrote {out}")
        return 0

    # Universal-trigger baseline (Wallace et al. 2019), searched on train rows, scored on dev.
    from attacks.universal_trigger import universal_trigger

    stage("universal trigger (HotFlip)")
    t0 = time.perf_counter()
    uni = universal_trigger(loaded.model, loaded.tokenizer, val_rows, length=3, iterations=2,
                            candidates=10, batch_size=32)
    t_uni = time.perf_counter() - t0
    uni_report = evaluate_triggers(loaded.model, loaded.tokenizer, dev, [uni.as_trigger()],
                                   keep_flipped=5)
    result["universal_trigger"] = {"search_seconds": t_uni, "tokens": uni.tokens,
                                   **uni_report.results[0].to_json()}

    # Throughput: the same triggers on the same rows, ours vs TextAttack's Attacker.
    from attacks.baselines import run_attacker, run_baseline, wordnet_ready  # noqa: I001
    from attacks.model_wrapper import DynamicPaddingModelWrapper
    from attacks.textattack_recipe import AttAttrTriggerRecipe
    from textattack.models.wrappers import HuggingFaceModelWrapper  # after the offline setup

    rows = dev[: args.throughput_rows]
    stage(f"throughput on {len(rows)} rows")
    t0 = time.perf_counter()
    ours = evaluate_triggers(loaded.model, loaded.tokenizer, rows, top, keep_flipped=0)
    t_ours = time.perf_counter() - t0
    dyn = DynamicPaddingModelWrapper(loaded.model, loaded.tokenizer)
    ta_dyn = run_attacker(AttAttrTriggerRecipe.build(dyn, top), rows, name="attattr-triggers")
    ta_hf = None
    if args.hf_wrapper_rows:
        hf = HuggingFaceModelWrapper(loaded.model, loaded.tokenizer)
        ta_hf = run_attacker(AttAttrTriggerRecipe.build(hf, top), rows[: args.hf_wrapper_rows],
                             name="attattr-triggers/hf")
    ours_eps = len(rows) / t_ours
    result["throughput"] = {
        "rows": len(rows), "triggers": len(top),
        "ours_seconds": t_ours, "ours_examples_per_second": ours_eps,
        "ours_queries": ours.num_queries,
        "attacker_dynamic_padding": ta_dyn.to_json(),
        "attacker_hf_wrapper": ta_hf.to_json() if ta_hf else None,
        "ratio_vs_attacker_dynamic": ours_eps / ta_dyn.examples_per_second,
        "ratio_vs_attacker_hf_wrapper": ours_eps / ta_hf.examples_per_second if ta_hf else None,
    }
    # Success on the same rows: our batched numbers as an Attacker would count them.
    flipped_any = set()
    for r in evaluate_triggers(loaded.model, loaded.tokenizer, rows, top, keep_flipped=None).results:
        flipped_any |= {f["index"] for f in r.flipped}
    correct = ours.results[0].num_correct
    result["throughput"]["ours_success_rate"] = len(flipped_any) / correct if correct else 0.0

    base_rows = dev[: args.baseline_rows]
    stage(f"baselines on {len(base_rows)} rows")
    baselines = [ta_dyn.to_json() | {"rows": len(rows)}]
    for name in [b.strip() for b in args.baselines.split(",") if b.strip()]:
        if name == "pwws" and not wordnet_ready():
            baselines.append({"recipe": "pwws", "skipped": "WordNet not installed"})
            continue
        baselines.append(run_baseline(name, dyn, base_rows).to_json() | {"rows": len(base_rows)})
    result["baselines"] = baselines

    from attacks.probes import keyword_reliance

    stage("probes")
    result["probes"] = keyword_reliance(loaded.model, loaded.tokenizer, dev, labels=labels)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print_table(result)
    print_findings(result, f"SST-2 dev, MiniLM ({loaded.source})")
    print(f"\nwrote {out}")
    return 0


def print_table(r: dict) -> None:
    print(f"\nmined {r['mining']['patterns']} patterns on {r['mining']['rows']} SST-2 train rows "
          f"in {r['mining']['seconds']:.0f}s (damage re-rank {r['mining']['damage_ranking_seconds']:.0f}s)")
    print(f"\nSST-2 dev ({r['attack']['num_examples']} rows), top-{len(r['attack']['results'])} "
          f"triggers, {r['attack']['num_queries']} queries in {r['attack']['seconds']:.1f}s")
    names = r["attack"]["labels"]
    print(f"{'#':>2} {'trigger':28} {'pushes':9} {'success':>7}  "
          + "  ".join(f"{n[:8]:>8} clean->trig (drop)" for n in names))
    for res in r["attack"]["results"]:
        t = res["trigger"]
        cells = "  ".join(f"{c['clean_accuracy']:.3f}->{c['triggered_accuracy']:.3f} ({c['drop']:+.3f})"
                          .rjust(28) for c in res["per_class"])
        print(f"{res['rank']:>2} {' '.join(t['tokens'])[:28]:28} {str(t['pushed_label_name'])[:9]:9} "
              f"{res['attack_success_rate']:7.3f}  {cells}")
    u = r["universal_trigger"]
    cells = "  ".join(f"{c['clean_accuracy']:.3f}->{c['triggered_accuracy']:.3f} ({c['drop']:+.3f})"
                      .rjust(28) for c in u["per_class"])
    print(f"{'U':>2} {' '.join(u['tokens'])[:28]:28} {'HotFlip':9} {u['attack_success_rate']:7.3f}  "
          f"{cells}   (universal trigger baseline, searched in {u['search_seconds']:.0f}s)")
    th = r["throughput"]
    print(f"\nthroughput, {th['triggers']} triggers on the same {th['rows']} dev rows:")
    print(f"  ours (batched)                 {th['ours_examples_per_second']:8.1f} rows/s")
    print(f"  Attacker + dynamic padding     {th['attacker_dynamic_padding']['examples_per_second']:8.1f} rows/s"
          f"   ratio {th['ratio_vs_attacker_dynamic']:.1f}x")
    if th["attacker_hf_wrapper"]:
        hf = th["attacker_hf_wrapper"]
        print(f"  Attacker + HF wrapper (max len){hf['examples_per_second']:8.1f} rows/s"
              f"   ratio {th['ratio_vs_attacker_hf_wrapper']:.1f}x  (first {hf['num_examples']} rows)")
    print(f"\n{'recipe':20} {'rows':>4} {'success':>7} {'acc.under.attack':>16} {'avg.queries':>11} {'s/row':>6}")
    for b in r["baselines"]:
        if "skipped" in b and isinstance(b["skipped"], str):
            print(f"{b['recipe']:20} skipped: {b['skipped']}")
            continue
        print(f"{b['recipe']:20} {b['num_examples']:>4} {b['success_rate']:7.3f} "
              f"{b['accuracy_under_attack']:16.3f} {b['avg_queries']:11.1f} "
              f"{b['seconds'] / max(b['num_examples'], 1):6.2f}")
    p = r["probes"]
    print(f"\nprobes on dev: clean acc {p['clean_accuracy']:.3f}; shuffled acc "
          f"{p['shuffled']['accuracy']:.3f} kept {p['shuffled']['kept']:.3f}; scrambled acc "
          f"{p['scrambled']['accuracy']:.3f} kept {p['scrambled']['kept']:.3f}; keyword reliance: "
          f"{'yes' if p['keyword_reliance'] else 'no'} (threshold {p['threshold']})")


if __name__ == "__main__":
    sys.exit(main())
