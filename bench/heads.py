"""Bench: head importance orderings and pruning curves on MiniLM fine-tuned on SST-2.

Reproduces the setting of Hao et al. AAAI 2021 Figure 2 / section 4.1 at a CPU-friendly
scale: importance on a held-out slice (the last rows of SST-2 dev), accuracy on a disjoint
evaluation slice (the first rows), plus a structurally pruned model (50% of heads removed by
the AttAttr ordering), per-head Clark et al. pattern statistics and one attribution tree.
Prints side-by-side accuracies and ratios, writes JSON and a PNG.

    python bench/heads.py [--eval 128 --held-out 32 --threads 1 --out bench/out]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", type=int, default=128, help="evaluation rows (first rows of dev)")
    ap.add_argument("--held-out", type=int, default=32, help="importance rows (last rows of dev)")
    ap.add_argument("--by", default="attattr,attention,random", help="orderings (add taylor,accdiff)")
    ap.add_argument("--per-layer-most", action="store_true", help="also the per-layer most-first curves")
    ap.add_argument("--model", type=Path, help="classifier directory (default: fine-tuned MiniLM)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from attribution.attention_attribution import AttentionAttribution
    from attribution.attention_patterns import AttentionPatterns
    from attribution.attribution_tree import AttributionTreeBuilder
    from attribution.data import load_examples
    from attribution.head_importance import HeadImportance
    from attribution.model_loading import load_classifier
    from attribution.pruning import PruningRobustness, global_masks
    from attribution.structural_pruning import StructuralPruner
    from bench.minilm_checkpoint import SST2, minilm_checkpoint

    t0 = time.perf_counter()
    ckpt = args.model or minilm_checkpoint()
    loaded = load_classifier(ckpt)
    dev = load_examples(SST2 / "dev.tsv")
    evaluation, held = dev[: args.eval], dev[len(dev) - args.held_out:]
    by = args.by.split(",")
    timings = {}

    t = time.perf_counter()
    importance = HeadImportance(loaded).compute(held, by=by, seed=0)
    timings["importance_s"] = time.perf_counter() - t

    t = time.perf_counter()
    rob = PruningRobustness(loaded)
    report = rob.curves(importance.scores, evaluation, schedules=["global"], directions=["least", "most"])
    per_layer = rob.curves(importance.scores, evaluation, schedules=["per_layer"],
                           directions=["least", "most"] if args.per_layer_most else ["least"])
    report.curves += per_layer.curves
    timings["pruning_s"] = time.perf_counter() - t

    t = time.perf_counter()
    mask = global_masks(importance.scores[by[0]], [0.5], "least")[0]
    with tempfile.TemporaryDirectory() as tmp:
        sp = StructuralPruner(loaded).prune(mask, output_dir=Path(tmp) / "pruned",
                                            check_examples=evaluation[:64], timing_repeats=5)
    timings["structural_s"] = time.perf_counter() - t

    t = time.perf_counter()
    patterns = AttentionPatterns(loaded).compute(held)
    (res,) = AttentionAttribution(loaded).attribute([evaluation[0]], target="predicted")
    tree = AttributionTreeBuilder(tau=0.4).build(res.scores.sum(1), tokens=res.tokens)
    timings["patterns_tree_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0

    at50 = {name: report.curve(name, "global", "least").at(0.5) for name in by}
    most50 = {name: report.curve(name, "global", "most").at(0.5) for name in by}
    print(f"model {ckpt.name}: full accuracy {report.full_accuracy:.4f} on {len(evaluation)} dev rows "
          f"(importance on {len(held)} other rows)")
    print(f"{'ordering':10s} {'acc@50% least-first':>20s} {'ratio/random':>13s} {'acc@50% most-first':>19s}")
    for name in by:
        ratio = at50[name] / at50["random"] if "random" in at50 and at50["random"] else float("nan")
        print(f"{name:10s} {at50[name]:20.4f} {ratio:13.3f} {most50[name]:19.4f}")
    print(f"structural pruning ({by[0]}, 50%): params {sp.params_after / sp.params_before:.3f}x, "
          f"file {sp.bytes_after / sp.bytes_before:.3f}x, speed-up x{sp.speedup:.2f}, "
          f"max |logit diff| {sp.max_abs_logit_diff:.2e}")
    print("timings", {k: round(v, 1) for k, v in timings.items()})

    args.out.mkdir(parents=True, exist_ok=True)
    payload = {
        "model": str(ckpt), "threads": torch.get_num_threads(), "eval_rows": len(evaluation),
        "held_out_rows": len(held), "accuracy_at_50pct_least_first": at50,
        "accuracy_at_50pct_most_first": most50, "importance": importance.to_json(),
        "pruning": report.to_json(), "structural_pruning": sp.to_json(),
        "attention_patterns": patterns.to_json(), "attribution_tree": tree.to_json(),
        "timings": timings,
    }
    (args.out / "heads.json").write_text(json.dumps(payload, indent=1))
    plot(report, by, args.out / "heads.png")
    print(f"wrote {args.out / 'heads.json'} and {args.out / 'heads.png'}")


def plot(report, by, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for i, name in enumerate(by):
        color = f"C{i}"
        for direction, style in (("least", "-"), ("most", "--")):
            try:
                c = report.curve(name, "global", direction)
            except KeyError:
                continue
            axes[0].plot([100 * x for x in c.x], c.accuracy, style, color=color,
                         label=f"{name} ({direction} first)")
        c = report.curve(name, "per_layer", "least")
        axes[1].plot(c.x, c.accuracy, "-o", color=color, ms=3, label=f"{name} (least first)")
    axes[0].set(xlabel="% of heads pruned (global)", ylabel="accuracy", title="Global schedule")
    axes[1].set(xlabel="heads pruned in every layer", ylabel="accuracy", title="Per-layer schedule")
    for ax in axes:
        ax.axhline(0.5, color="grey", lw=0.5)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
