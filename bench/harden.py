"""Bench: harden MiniLM (fine-tuned on SST-2) against its audit's triggers; before/after table.

1. audit the checkpoint on SST-2 dev (clean_eval + triggers, the pipeline's own code path);
2. give each mined trigger a kind. Issue 11's classifier is not on this branch yet, so this bench
   uses a STAND-IN (bench only, not the product): the log-odds ratio with an informative Dirichlet
   prior of each trigger word in SST-2 train (Monroe, Colaresi and Quinn 2008); a word is
   label-associated when |z| >= 3. ``label-bearing``: a word is associated with the class the
   trigger pushes predictions toward; ``counter-evidence``: the associated words point the other
   way; ``spurious``: no word is associated. The push is measured (the class whose accuracy drops
   most is pushed away from, on the held-out importance slice), not the mining label (the first
   run used the mining label for triggers the audit had not evaluated and called "n't", which
   pushes toward negative, counter-evidence); only the top ``--kinded`` mined triggers get a kind;
3. ``attaudit harden`` (``pipeline.hardening``) on SST-2 train, re-audit with triggers mined anew,
   the universal trigger searched against each model;
4. print the before/after table, write bench/results/harden.json and harden.png.

    python bench/harden.py [--steps 200 --threads 1 --out bench/results]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def log_odds_z(rows, num_labels: int = 2) -> dict[str, float]:
    """Monroe et al. 2008 log-odds z of each word for class 1 vs class 0 (informative prior =
    the whole corpus' counts)."""
    counts = [Counter() for _ in range(num_labels)]
    for ex in rows:
        counts[ex.label].update(ex.text.lower().split())
    prior = counts[0] + counts[1]
    a0 = sum(prior.values())
    n1, n0 = sum(counts[1].values()), sum(counts[0].values())
    z = {}
    for w, aw in prior.items():
        y1, y0 = counts[1][w], counts[0][w]
        d = math.log((y1 + aw) / (n1 + a0 - y1 - aw)) - math.log((y0 + aw) / (n0 + a0 - y0 - aw))
        var = 1 / (y1 + aw) + 1 / (y0 + aw)
        z[w] = d / math.sqrt(var)
    return z


def stand_in_kind(trigger_row: dict, record: dict, z: dict[str, float], labels: list[str]) -> str:
    # measured: pushed away from the class whose accuracy drops most (binary task)
    drops = {c["label"]: c["drop"] for c in trigger_row["per_class"]}
    pushed = 1 - labels.index(max(drops, key=drops.get))
    assoc = [z.get(w.lower(), 0.0) for w in record["tokens"]]
    strong = [s for s in assoc if abs(s) >= 3.0]
    if not strong:
        return "spurious"
    toward = [s for s in strong if (s > 0) == (pushed == 1)]
    return "label-bearing" if toward else "counter-evidence"


def plot(doc: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = doc["summary"]
    groups = [("clean accuracy", s["clean_accuracy"], "value"),
              ("worst old-trigger drop", s["old_trigger_worst"], "drop"),
              ("worst new-trigger drop", s["new_trigger_worst"], "drop")]
    if "universal_worst" in s:
        groups.append(("universal-trigger drop", s["universal_worst"], "drop"))
    fig, ax = plt.subplots(figsize=(8, 3.8))
    for i, (_name, pair, key) in enumerate(groups):
        for j, (which, color) in enumerate((("before", "tab:grey"), ("after", "tab:blue"))):
            m = pair.get(which)
            if not m:
                continue
            v = m[key]
            ax.bar(i + (j - 0.5) * 0.38, v, 0.36, color=color, label=which if i == 0 else None,
                   yerr=[[v - m["low"]], [m["high"] - v]], capsize=3)
    ax.set_xticks(range(len(groups)), [g[0] for g in groups], fontsize=8)
    ax.set_ylabel("rate (95% interval)")
    ax.set_title("MiniLM / SST-2: before and after hardening")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=200, help="hardening fine-tune steps")
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--train-rows", type=int, default=6400, help="SST-2 train rows used")
    ap.add_argument("--eval-examples", type=int, default=300)
    ap.add_argument("--mining-examples", type=int, default=64)
    ap.add_argument("--triggers", type=int, default=8, help="mined triggers kept per audit")
    ap.add_argument("--kinded", type=int, default=12, help="top mined triggers given a stand-in kind")
    ap.add_argument("--importance-examples", type=int, default=48, help="rows the damage ranking uses")
    ap.add_argument("--universal-examples", type=int, default=64)
    ap.add_argument("--universal-iterations", type=int, default=3)
    ap.add_argument("--universal-candidates", type=int, default=20)
    ap.add_argument("--model", type=Path, help="classifier directory (default: fine-tuned MiniLM)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from attacks.trigger_attack import evaluate_triggers
    from attacks.trigger_file import Trigger
    from attribution.data import load_examples
    from bench.minilm_checkpoint import SST2, minilm_checkpoint
    from common.audit_config import AuditConfig
    from pipeline.hardening import HardenConfig, HardenInputError, harden
    from pipeline.run import AuditRun

    t0 = time.perf_counter()
    ckpt = args.model or minilm_checkpoint()
    work = Path(tempfile.mkdtemp(prefix="attaudit-harden-bench-"))
    try:
        audit_dir = work / "audit"
        cfg = AuditConfig(stages=["clean_eval", "triggers"], eval_examples=args.eval_examples,
                          mining_examples=args.mining_examples, triggers=args.triggers,
                          importance_examples=args.importance_examples)
        run = AuditRun(ckpt, SST2 / "dev.tsv", cfg, audit_dir / "cache")
        results = run.run_all()
        run.write_report(audit_dir)
        audit_s = time.perf_counter() - t0
        trig = results["stages"]["triggers"]
        if not trig.get("trigger_file"):
            raise SystemExit(f"the audit mined no trigger: {trig.get('note')}")
        print(f"audit done in {audit_s:.0f} s: {len(trig['trigger_file']['triggers'])} mined triggers",
              flush=True)
        z = log_odds_z(load_examples(SST2 / "train.tsv", labels=run.loaded().labels))
        doc = trig["trigger_file"]
        # the measured push of every kinded trigger, on the held-out importance slice
        loaded = run.loaded()
        top = doc["triggers"][: args.kinded]
        held = [e for e in run.slices()["importance"] if e.label is not None][: args.importance_examples]
        measured = evaluate_triggers(loaded.model, loaded.tokenizer, held,
                                     [Trigger.from_json(r) for r in top], labels=loaded.labels,
                                     keep_flipped=0)
        rows = {tuple(r.trigger.tokens): {"per_class": [{"label": c.label_name, "drop": c.drop}
                                                        for c in r.per_class]}
                for r in measured.results}
        kinds = {}
        for rec in doc["triggers"][: args.kinded]:  # the rest keep no kind: not eligible
            rec["kind"] = stand_in_kind(rows[tuple(rec["tokens"])], rec, z, loaded.labels)
            kinds[" ".join(rec["tokens"])] = (rec["kind"], [round(z.get(w.lower(), 0.0), 1)
                                                            for w in rec["tokens"]])
        (audit_dir / "triggers.json").write_text(json.dumps(doc, indent=1))
        print("stand-in kinds: " + ", ".join(f"{k!r} {v[0]}" for k, v in kinds.items()), flush=True)
        try:
            hard = harden(ckpt, SST2 / "train.tsv", audit_dir, work / "hardened",
                          HardenConfig(steps=args.steps, lr=args.lr, max_length=64,
                                       max_train_rows=args.train_rows,
                                       universal_examples=args.universal_examples,
                                       universal_iterations=args.universal_iterations,
                                       universal_candidates=args.universal_candidates),
                          progress=lambda phase, f: None)
        except HardenInputError as exc:  # e.g. no spurious / counter-evidence trigger: say so
            hard = None
            print(f"hardening did not run: {exc}")
        out = {"model": str(ckpt), "audit_seconds": round(audit_s, 1), "args": {
               k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
               "stand_in_kinds": {k: {"kind": v[0], "z": v[1]} for k, v in kinds.items()},
               "hardening": hard, "total_seconds": round(time.perf_counter() - t0, 1)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "harden.json").write_text(json.dumps(out, indent=1))
    if hard is None:
        return
    plot(hard, args.out / "harden.png")

    print("stand-in kinds (log-odds z per word in SST-2 train):")
    for k, v in kinds.items():
        print(f"  {k!r:32} {v[0]:<17} z={v[1]}")
    h = hard
    print(f"\nclean accuracy on {h['audit']['n_eval']} SST-2 dev rows (eval slice):")
    for name in ("before", "after"):
        c = h["clean"][name]["overall"]
        print(f"  {name:>6}: {c['value']:.3f} [{c['low']:.3f}, {c['high']:.3f}]  per class "
              + ", ".join(f"{p['label']} {p['value']:.3f}" for p in h["clean"][name]["per_class"]))

    def table(title: str, rows: list[dict], extra: str) -> None:
        print(f"\n{title}")
        print(f"  {'trigger':<28}{extra:<18}{'class':<10}{'drop before':>22}{'drop after':>22}")
        for r in rows:
            for cb, ca in zip(r["before"]["per_class"], r["after"]["per_class"], strict=True):
                tag = str(r.get("kind") or r.get("searched_on") or r.get("mined_on"))
                if r.get("used_for_training") is False:
                    tag += " (not used)"
                print(f"  {' '.join(r['tokens']):<28}{tag:<18}{cb['label']:<10}"
                      f"{cb['drop']:>+8.3f} [{cb['drop_low']:+.2f},{cb['drop_high']:+.2f}]"
                      f"{ca['drop']:>+8.3f} [{ca['drop_low']:+.2f},{ca['drop_high']:+.2f}]")

    table("old triggers (mined on the model before hardening)", h["old_triggers"], "kind")
    table("new triggers (mined anew on the hardened model)", h["new_triggers"], "mined on")
    if h.get("universal"):
        table("universal trigger (HotFlip, searched against each model)", h["universal"]["triggers"],
              "searched on")
    print(f"\nseconds: {h['budget']['seconds']}, total {out['total_seconds']}")
    print(f"wrote {args.out / 'harden.json'} and {args.out / 'harden.png'}")


if __name__ == "__main__":
    main()
