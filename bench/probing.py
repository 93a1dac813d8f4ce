"""Bench: layer-wise probes and the no-op check on MiniLM fine-tuned on SST-2.

Per layer (embeddings first) and sentence vector ([CLS], mean-pooled): cross-validated
logistic-regression accuracy for the task label, sentence-length bucket, word order (original
vs shuffled) and negation, each with its Hewitt-Liang control task, so selectivity is printed
next to accuracy; plus Clark et al.'s attention-to-[SEP] no-op check. Writes JSON and a PNG.

    python bench/probing.py [--examples 600 --noop-examples 64 --threads 1 --out bench/results]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def plot(report: dict, noop: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    props = list(report["properties"])
    fig, axes = plt.subplots(1, len(props) + 1, figsize=(4 * (len(props) + 1), 3.6))
    x = list(range(report["num_layers"] + 1))
    for ax, name in zip(axes, props, strict=False):
        prop = report["properties"][name]
        for pooling, color in (("cls", "tab:blue"), ("mean", "tab:orange")):
            task = [row[pooling]["task"]["accuracy"] for row in prop["layers"]]
            low = [row[pooling]["task"]["low"] for row in prop["layers"]]
            high = [row[pooling]["task"]["high"] for row in prop["layers"]]
            ctrl = [row[pooling]["control"]["accuracy"] for row in prop["layers"]]
            ax.plot(x, task, "-o", color=color, label=f"{pooling} task")
            ax.fill_between(x, low, high, color=color, alpha=0.15)
            ax.plot(x, ctrl, "--", color=color, label=f"{pooling} control")
        maj = prop["layers"][0]["cls"]["task"]["majority"]
        ax.axhline(maj, color="grey", lw=0.8, ls=":", label="majority")
        ax.set_title(name)
        ax.set_xlabel("layer (0 = embeddings)")
        ax.set_ylim(0, 1.02)
    axes[0].set_ylabel("cross-validated accuracy")
    axes[0].legend(fontsize=7)
    ax = axes[-1]
    layers = list(range(1, len(noop["attention"]["sep"]) + 1))
    for kind, color in (("sep", "tab:red"), ("cls", "tab:green"), ("other", "tab:grey")):
        ax.plot(layers, noop["attention"][kind], "-o", color=color, label=f"attention to {kind}")
    ax.set_xlabel("layer")
    ax.set_ylabel("mean attention mass")
    ax2 = ax.twinx()
    for kind, color in (("sep", "tab:red"), ("cls", "tab:green"), ("other", "tab:grey")):
        ax2.plot(layers, noop["gradient"][kind], "--", color=color)
    ax2.set_ylabel("mean |dL/dA| (dashed)")
    ax.set_title("no-op check (Clark et al.)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    from bench.minilm_checkpoint import add_model_args, load_bench_model

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=600, help="SST-2 dev rows probed")
    ap.add_argument("--noop-examples", type=int, default=64, help="rows for the no-op check")
    ap.add_argument("--folds", type=int, default=5)
    add_model_args(ap)
    args = ap.parse_args()

    from attribution.attention_noop import noop_check
    from attribution.data import load_examples
    from attribution.probing import LayerProber
    from bench.minilm_checkpoint import SST2

    t0 = time.perf_counter()
    ckpt, loaded = load_bench_model(args)
    dev = load_examples(SST2 / "dev.tsv")[: args.examples]
    report = LayerProber(loaded.model, loaded.tokenizer, loaded.labels).probe(dev, folds=args.folds)
    t = time.perf_counter()
    noop = noop_check(loaded.model, loaded.tokenizer, dev[: args.noop_examples])
    noop_s = time.perf_counter() - t
    out = {
        "model": str(ckpt), "model_sha256": loaded.sha256, "data": "SST-2 dev (first rows)",
        "probing": report.to_json(), "noop": noop.to_json(), "noop_seconds": round(noop_s, 2),
        "total_seconds": round(time.perf_counter() - t0, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "probing.json").write_text(json.dumps(out, indent=2))
    plot(out["probing"], out["noop"], args.out / "probing.png")

    names = out["probing"]["layer_names"]
    print(f"probing {report.num_examples} SST-2 dev rows, {args.folds}-fold CV, "
          f"{report.seconds:.1f}s; accuracy / control / selectivity")
    for name, prop in report.properties.items():
        first = prop.layers[0]["cls"]
        print(f"\n{name}  (majority: task {first['task'].majority:.3f}, "
              f"control {first['control'].majority:.3f}) {prop.note}")
        print(f"{'layer':<11}" + "".join(f"{p + ' acc':>10}{'ctrl':>7}{'sel':>7}" for p in ("cls", "mean")))
        for i, row in enumerate(prop.layers):
            cells = "".join(
                f"{row[p]['task'].accuracy:>10.3f}{row[p]['control'].accuracy:>7.3f}"
                f"{row[p]['selectivity']:>7.3f}" for p in ("cls", "mean"))
            print(f"{names[i]:<11}{cells}")
    for name, why in report.skipped.items():
        print(f"skipped {name}: {why}")
    print(f"\nno-op check ({noop.num_examples} rows): attention mass / mean |dL/dA| per layer")
    for layer in range(len(noop.attention["sep"])):
        print(f"layer {layer + 1}: " + "  ".join(
            f"{k} {noop.attention[k][layer]:.3f} / {noop.gradient[k][layer]:.2e}"
            for k in ("sep", "cls", "other")))
    print(f"\nwrote {args.out / 'probing.json'} and {args.out / 'probing.png'}")


if __name__ == "__main__":
    main()
