"""Bench: "is attention explanation?", the counterfactual half, on a fine-tuned MiniLM.

Per data set: the permutation test (Jain and Wallace 2019, per layer and per head), the
adversarial attention search (JSD reached with output TVD <= epsilon), the uniform-attention
baseline (Wiegreffe and Pinter 2019, accuracy drop with Newcombe's paired 95% interval), the
attention~gradient Kendall tau, and the per-model verdict. Prints a per-layer table, writes
JSON and a PNG of median output change against maximum attention per layer (the papers'
figure form: one point per example, coloured by predicted class).

Data: SST-2 dev (the model's own task) and an IMDB test sample read by the *same* SST-2 model
(sentiment, other domain; reviews cut to their first ``--imdb-words`` words to keep the cost to
minutes on 2 cores: said in the output). Sizes are flags; every rate carries its n.

    python bench/counterfactual.py [--n 32 --n-imdb 16 --threads 2 --out bench/results]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
IMDB = ROOT.parent / "shared" / "data" / "IMDB" / "test_sample.csv"


def imdb_sample(n: int, words: int, seed: int = 0):
    from attribution.data import Example, load_examples

    rows = load_examples(IMDB, text_column="text", label_column="label")
    random.Random(seed).shuffle(rows)
    cut = [Example(text=" ".join(r.text.replace("<br />", " ").split()[:words]), label=r.label)
           for r in rows[:n]]
    return cut


def evaluate(loaded, examples, uniform_examples, args, label: str) -> dict:
    from attribution.counterfactual.adversarial_attention import AdversarialAttention
    from attribution.counterfactual.permutation import PermutationTest
    from attribution.counterfactual.uniform_attention import UniformAttentionBaseline
    from attribution.counterfactual.verdict import model_verdict
    from attribution.explainers import get_explainer
    from attribution.faithfulness import tau_between

    seconds = {}

    def say(what: str) -> None:
        print(f"  [{label}] {what} ({time.perf_counter() - t0:.0f} s)", flush=True)

    t0 = t = time.perf_counter()
    perm = PermutationTest(loaded).run(examples, permutations=args.permutations, per_head=False)
    head_ex = examples[:args.n_heads]
    perm_heads = PermutationTest(loaded).run(head_ex, permutations=args.head_permutations)
    seconds["permutation"] = time.perf_counter() - t
    say("permutation done")
    t = time.perf_counter()
    adv = AdversarialAttention(loaded).run(examples[:args.n_adversarial], epsilon=args.epsilon,
                                           steps=args.steps)
    seconds["adversarial"] = time.perf_counter() - t
    say("adversarial done")
    t = time.perf_counter()
    uni_engine = UniformAttentionBaseline(loaded)
    uni = uni_engine.run(uniform_examples, per_head=False).to_json()
    uni_heads = uni_engine.run(uniform_examples[:args.n_uniform_heads], per_head=True).to_json()
    seconds["uniform"] = time.perf_counter() - t
    say("uniform done")
    t = time.perf_counter()
    attn = get_explainer("attention", loaded).explain(examples)
    grad = get_explainer("grad_input", loaded).explain(examples)
    tau = tau_between(attn, grad)
    seconds["correlation"] = time.perf_counter() - t
    pairwise = {"attention~grad_input": {"mean": tau.mean, "std": tau.std,
                                         "fraction_significant": tau.frac_significant, "n": tau.n}}
    perm_json = perm.to_json()
    heads_json = perm_heads.to_json()
    for row, hrow in zip(perm_json["layers"], heads_json["layers"], strict=True):
        row["head_median_output_change"] = hrow["head_median_output_change"]
    perm_json["heads_n"] = heads_json["n"]
    perm_json["heads_permutations"] = heads_json["permutations"]
    uni["heads"] = uni_heads["heads"]
    uni["heads_n"] = uni_heads["n"]
    adv_json = adv.to_json()
    verdict = model_verdict(pairwise_tau=pairwise, permutation=perm_json, adversarial=adv_json,
                            uniform=uni)
    print_table(label, perm_json, adv_json, uni, pairwise, verdict)
    return {"data": label, "n": len(examples), "permutation": perm_json, "adversarial": adv_json,
            "uniform": uni, "correlation": pairwise, "verdict": verdict, "seconds": seconds}


def print_table(label, perm, adv, uni, pairwise, verdict) -> None:
    t = pairwise["attention~grad_input"]
    print(f"\n== {label}: permutation n={perm['n']} ({perm['permutations']} perms), adversarial "
          f"n={adv['n']} (eps {adv['epsilon_tvd']}, {adv['steps']} steps), uniform n={uni['n']} "
          f"(model accuracy {uni['model_accuracy']:.3f}); tau attention~grad_input "
          f"{t['mean']:.3f} (n={t['n']})")
    print(f"{'layer':5s} {'maxattn':>7s} {'medTVD':>7s} {'frac>=.05':>9s} {'tau(max,TVD)':>12s} "
          f"{'meanJSD':>7s} {'far':>5s} {'kept':>5s} {'uni drop':>8s} {'95% CI':>16s} {'verdict':>14s}")
    adv_by = {r["layer"]: r for r in adv["layers"]}
    uni_by = {r["layer"]: r for r in uni["layers"]}
    ver_by = {r["layer"]: r for r in verdict["layers"]}
    for row in perm["layers"]:
        layer = row["layer"]
        a, u = adv_by.get(layer, {}), uni_by[layer]
        k = row["kendall_max_attention_vs_change"]
        ci = f"[{u['drop_ci95'][0]:.3f}, {u['drop_ci95'][1]:.3f}]"
        print(f"{layer:<5d} {row['mean_max_attention']:7.3f} {row['median_output_change']:7.4f} "
              f"{row['fraction_changed']:9.2f} {k if k is None else round(k, 3)!s:>12s} "
              f"{a.get('mean_jsd', float('nan')):7.3f} {a.get('fraction_far', float('nan')):5.2f} "
              f"{a.get('fraction_prediction_kept', float('nan')):5.2f} {u['accuracy_drop']:8.3f} "
              f"{ci:>16s} {ver_by[layer]['verdict']:>14s}")
    al = uni["all_layers"]
    print(f"all layers uniform: accuracy {al['accuracy']:.3f}, drop {al['accuracy_drop']:.3f} "
          f"[{al['drop_ci95'][0]:.3f}, {al['drop_ci95'][1]:.3f}], n={al['n']}")
    heads = sorted(uni["heads"], key=lambda r: -r["accuracy_drop"])[:3]
    print(f"largest single-head uniform drops (n={uni['heads_n']}): "
          + ", ".join(f"L{r['layer']}H{r['head']} {r['accuracy_drop']:.3f}" for r in heads))
    print("VERDICT:", verdict["verdict"], "-", verdict["summary"])


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_layers = len(results[0]["permutation"]["layers"])
    fig, axes = plt.subplots(len(results), n_layers, figsize=(2.6 * n_layers, 2.6 * len(results)),
                             squeeze=False, sharey=True)
    for r, res in enumerate(results):
        pts = res["permutation"]["points"]
        for layer in range(n_layers):
            ax = axes[r][layer]
            x = [row[layer] for row in pts["max_attention"]]
            y = [row[layer] for row in pts["median_output_change"]]
            c = [f"C{p}" for p in pts["prediction"]]
            ax.scatter(x, y, c=c, s=10, alpha=0.8)
            ax.set(xlim=(0, 1), ylim=(-0.02, 1.0), title=f"{res['data']} L{layer}")
            if r == len(results) - 1:
                ax.set_xlabel("max attention")
            if layer == 0:
                ax.set_ylabel("median output change (TVD)")
    fig.suptitle("Permutation test (Jain & Wallace 2019 fig. form): colour = predicted class", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    from bench.minilm_checkpoint import add_model_args, load_bench_model

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=32, help="SST-2 dev rows (from the top)")
    ap.add_argument("--n-imdb", type=int, default=16, help="IMDB sample rows (seeded shuffle)")
    ap.add_argument("--imdb-words", type=int, default=40)
    ap.add_argument("--n-uniform", type=int, default=200,
                    help="labelled rows of the uniform baseline per layer / all layers (cheap: L + 2 forwards each)")
    ap.add_argument("--n-uniform-heads", type=int, default=32,
                    help="labelled rows of the per-head uniform baseline (L x H forwards each)")
    ap.add_argument("--n-heads", type=int, default=6, help="examples for the per-head tests")
    ap.add_argument("--n-adversarial", type=int, default=6)
    ap.add_argument("--permutations", type=int, default=10)
    ap.add_argument("--head-permutations", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20, help="adversarial optimiser steps")
    ap.add_argument("--epsilon", type=float, default=0.01)
    ap.add_argument("--adversarial-model", type=int, default=0, metavar="STEPS",
                    help="also fine-tune a copy's query/key weights against the original attention for "
                         "STEPS steps (Wiegreffe and Pinter 2019; a training run, off by default)")
    add_model_args(ap)
    args = ap.parse_args()

    import torch

    from attribution.data import load_examples
    from bench.minilm_checkpoint import SST2

    t0 = time.perf_counter()
    ckpt, loaded = load_bench_model(args)
    print(f"model {ckpt} ({loaded.num_layers} layers x {loaded.num_heads} heads), "
          f"{torch.get_num_threads()} threads")
    sst2 = load_examples(SST2 / "dev.tsv", limit=max(args.n, args.n_uniform))
    results = [evaluate(loaded, sst2[:args.n], sst2[:args.n_uniform], args, "SST-2 dev")]
    if args.n_imdb > 0:
        imdb = imdb_sample(max(args.n_imdb, args.n_uniform), args.imdb_words)
        results.append(evaluate(loaded, imdb[:args.n_imdb], imdb[:args.n_uniform], args,
                                f"IMDB (first {args.imdb_words} words)"))
    if args.adversarial_model > 0:
        from attribution.counterfactual.adversarial_model import AdversarialModel

        train, held = sst2[: args.n_uniform // 2], sst2[args.n_uniform // 2: args.n_uniform]
        am = AdversarialModel(loaded).train(train, evaluation=held, steps=args.adversarial_model).to_json()
        results[0]["adversarial_model"] = am
        print(f"adversarial model ({am['steps']} steps, {am['seconds']:.0f} s, n={am['n']} held out): "
              f"mean JSD per layer {[round(x, 3) for x in am['layer_jsd']]}, output TVD {am['mean_output_tvd']:.4f}, "
              f"prediction kept {am['fraction_prediction_kept']:.3f}")
    total = time.perf_counter() - t0
    print(f"total {total:.0f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {"model": str(ckpt), "threads": torch.get_num_threads(), "args": {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "results": results, "seconds_total": total}
    (args.out / "counterfactual.json").write_text(json.dumps(payload, indent=1))
    plot(results, args.out / "counterfactual.png")
    print(f"wrote {args.out / 'counterfactual.json'} and {args.out / 'counterfactual.png'}")


if __name__ == "__main__":
    main()
