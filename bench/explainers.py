"""Bench: faithfulness of every token explainer on MiniLM fine-tuned on SST-2.

ERASER comprehensiveness / sufficiency with AOPC over 1/5/10/20/50% bins (removal by the
[MASK] token), Kendall tau against leave-one-out, and attention-vs-gradient tau (Jain and
Wallace 2019). Prints the ranked table, writes JSON and a PNG.

    python bench/explainers.py [--n 40 --threads 1 --out bench/results]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _f(x: float | None, width: int, digits: int) -> str:
    """A statistic that may be undefined (None: tau over no example) as 'n/a', never 'nan'."""
    return f"{'n/a':>{width}s}" if x is None else f"{x:{width}.{digits}f}"


def main() -> None:
    from bench.minilm_checkpoint import add_model_args, load_bench_model

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=40, help="SST-2 dev rows to explain (from the top)")
    ap.add_argument("--methods", default="attention,rollout,grad_attention,lrp,integrated_gradients,grad_input,attattr")
    ap.add_argument("--removal", default="mask", choices=["mask", "pad"])
    add_model_args(ap)
    args = ap.parse_args()

    import torch

    from attribution.data import load_examples
    from attribution.explainers import get_explainer
    from attribution.faithfulness import FaithfulnessEvaluator, tau_between
    from bench.minilm_checkpoint import SST2

    t0 = time.perf_counter()
    ckpt, loaded = load_bench_model(args)
    examples = load_examples(SST2 / "dev.tsv", limit=args.n)
    methods = args.methods.split(",")
    explanations, seconds = {}, {}
    for name in methods:
        t = time.perf_counter()
        explanations[name] = get_explainer(name, loaded).explain(examples)
        seconds[name] = time.perf_counter() - t
    t = time.perf_counter()
    pairs = [("attention", "grad_input"), ("attention", "integrated_gradients"),
             ("rollout", "grad_input"), ("attattr", "integrated_gradients")]
    report = FaithfulnessEvaluator(loaded).evaluate(examples, explanations, removal=args.removal, pairs=pairs)
    seconds["faithfulness"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0
    if "attention" in explanations and "grad_input" in explanations:
        assert report.pairwise_tau["attention~grad_input"] == tau_between(
            explanations["attention"], explanations["grad_input"])

    print(f"model {ckpt.name}, {len(examples)} SST-2 dev rows, removal by {report.removal_token}")
    print(f"{'rank':4s} {'method':22s} {'AOPC comp':>9s} {'AOPC suff':>9s} {'comp-suff':>9s} "
          f"{'tau LOO':>8s} {'±':>5s} {'p<.05':>6s} {'s/ex':>6s}")
    by = {m.method: m for m in report.methods}
    for rank, name in enumerate(report.ranking, 1):
        m = by[name]
        t = m.tau_loo
        print(f"{rank:<4d} {name:22s} {m.aopc_comprehensiveness:9.4f} {m.aopc_sufficiency:9.4f} "
              f"{m.aopc_comprehensiveness - m.aopc_sufficiency:9.4f} {_f(t.mean, 8, 3)} {_f(t.std, 5, 2)} "
              f"{_f(t.frac_significant, 6, 2)} {seconds[name] / len(examples):6.2f}"
              + (f"  tau {t.note}" if t.note else ""))
    for key, t in report.pairwise_tau.items():
        print(f"tau {key:34s} mean {_f(t.mean, 0, 3)} std {_f(t.std, 0, 3)} "
              f"frac p<.05 {_f(t.frac_significant, 0, 2)}" + (f"  ({t.note})" if t.note else ""))
    print("timings", {k: round(v, 1) for k, v in seconds.items()})

    args.out.mkdir(parents=True, exist_ok=True)
    payload = {"model": str(ckpt), "threads": torch.get_num_threads(), "rows": len(examples),
               "faithfulness": report.to_json(), "seconds": seconds,
               "explanations": {m: [e.to_json() for e in ex[:5]] for m, ex in explanations.items()}}
    (args.out / "explainers.json").write_text(json.dumps(payload, indent=1))
    plot(report, args.out / "explainers.png")
    print(f"wrote {args.out / 'explainers.json'} and {args.out / 'explainers.png'}")


def plot(report, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    bins = [100 * b for b in report.bins]
    for i, m in enumerate(report.methods):
        axes[0].plot(bins, m.comprehensiveness, "-o", color=f"C{i}", ms=3, label=m.method)
        axes[1].plot(bins, m.sufficiency, "-o", color=f"C{i}", ms=3, label=m.method)
    axes[0].set(xlabel="% tokens removed (top by score)", ylabel="comprehensiveness",
                title="Comprehensiveness (higher is better)", xscale="log")
    axes[1].set(xlabel="% tokens kept (top by score)", ylabel="sufficiency",
                title="Sufficiency (lower is better)", xscale="log")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
