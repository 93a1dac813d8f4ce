"""`attaudit explain`: token scores from several explainers and their faithfulness table.

With ``--counterfactual`` it also runs the counterfactual attention tests on the same rows (the
permutation test and adversarial attention search of Jain and Wallace 2019, the uniform-attention
baseline of Wiegreffe and Pinter 2019) and prints the per-layer table and the per-model verdict;
the JSON gains a ``counterfactual`` object (the same as the audit's counterfactual stage).
"""

from __future__ import annotations

from attaudit.cli.common import tqdm_progress, write_json_atomic
from attaudit.cli.errors import UserError
from attaudit.cli.heads import add_data_args, csv_list, load
from common import registries

METHODS = registries.EXPLAINERS


def register(subparsers) -> None:
    p = subparsers.add_parser("explain", help="token explanations scored for faithfulness",
                              description=__doc__)
    add_data_args(p)
    p.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated ({', '.join(METHODS)})")
    p.add_argument("--limit", type=int, default=50, help="explain the first N rows (default 50)")
    p.add_argument("--target", default="predicted", choices=["predicted", "gold"])
    p.add_argument("--merge-wordpieces", action="store_true", help="also report word-level scores")
    p.add_argument("--removal", default="mask", choices=["mask", "pad"],
                   help="token that replaces removed tokens in the faithfulness metrics")
    p.add_argument("--bins", default="0.01,0.05,0.1,0.2,0.5", help="AOPC bins (fractions)")
    cf = p.add_argument_group("counterfactual attention tests (--counterfactual)")
    cf.add_argument("--counterfactual", action="store_true",
                    help="also run permutation, adversarial-attention and uniform-attention tests and "
                         "state the verdict (needs a label column)")
    cf.add_argument("--permutations", type=int, default=10, help="random permutations per example and layer")
    cf.add_argument("--epsilon", type=float, default=0.01, help="output TVD the adversarial search may spend")
    cf.add_argument("--adversarial-steps", type=int, default=40, help="optimiser steps per example and layer")
    cf.add_argument("--adversarial-examples", type=int, default=8, help="rows the adversarial search runs on")
    cf.add_argument("--head-examples", type=int, default=8, help="rows the per-head tests run on")
    p.set_defaults(func=run)


def run(args) -> int:
    methods = csv_list(args.methods, METHODS, "method")
    try:
        bins = [float(b) for b in args.bins.split(",")]
    except ValueError as exc:
        raise UserError(f"--bins must be comma-separated fractions: {args.bins!r}") from exc
    if args.limit < 1:
        raise UserError("--limit must be at least 1")
    if args.counterfactual:
        check_counterfactual_args(args)
    loaded, examples = load(args, limit=args.limit)
    if args.target == "gold" and any(ex.label is None for ex in examples):
        raise UserError(f"{args.data}: --target gold needs a label in every row")
    if args.counterfactual and any(ex.label is None for ex in examples):
        raise UserError(f"{args.data}: --counterfactual needs a gold label in every row "
                        "(the uniform-attention baseline measures accuracy); name it with --label-column")

    from attribution.explainers import get_explainer
    from attribution.faithfulness import FaithfulnessEvaluator

    explanations = {}
    for name in methods:
        bar, hook = tqdm_progress(name)
        explanations[name] = get_explainer(name, loaded).explain(
            examples, target=args.target, merge_wordpieces=args.merge_wordpieces, progress=hook)
        bar.close()
    bar, hook = tqdm_progress("faithfulness")
    report = FaithfulnessEvaluator(loaded).evaluate(examples, explanations, bins=bins,
                                                    removal=args.removal, progress=hook)
    bar.close()
    counterfactual = None
    if args.counterfactual:
        from attribution.counterfactual.suite import finite, run_counterfactual

        taus = {k: {"mean": v.mean, "std": v.std, "fraction_significant": v.frac_significant, "n": v.n}
               for k, v in report.pairwise_tau.items()}
        bar, hook = tqdm_progress("counterfactual")
        counterfactual = run_counterfactual(
            loaded, examples, examples, permutations=args.permutations, head_examples=args.head_examples,
            adversarial_examples=args.adversarial_examples, epsilon=args.epsilon,
            steps=args.adversarial_steps, pairwise_tau=finite(taus), progress=hook)
        bar.close()
    payload = {
        "model": args.model, "data": args.data, "model_sha256": loaded.sha256,
        "faithfulness": report.to_json(),
        "explanations": {m: [e.to_json() for e in ex] for m, ex in explanations.items()},
    }
    if counterfactual is not None:
        payload["counterfactual"] = counterfactual
    write_json_atomic(args.json, payload)
    print(f"{'method':22s} {'AOPC comp':>10s} {'AOPC suff':>10s} {'tau(LOO)':>9s}")
    for name in report.ranking:
        m = next(x for x in report.methods if x.method == name)
        t = m.tau_loo
        tau = "n/a" if t is None or t.mean is None else f"{t.mean:.3f}"
        note = f"  (tau {t.note})" if t is not None and t.note else ""
        print(f"{name:22s} {m.aopc_comprehensiveness:10.4f} {m.aopc_sufficiency:10.4f} {tau:>9s}{note}")
    if counterfactual is not None:
        print_counterfactual(counterfactual)
    return 0


def check_counterfactual_args(args) -> None:
    """Bad sizes fail before the model loads (exit 2 with the flag named)."""
    for flag, value in (("--permutations", args.permutations), ("--adversarial-steps", args.adversarial_steps),
                        ("--adversarial-examples", args.adversarial_examples),
                        ("--head-examples", args.head_examples)):
        if value < 1:
            raise UserError(f"{flag} must be at least 1, got {value}")
    if not 0 < args.epsilon < 1:
        raise UserError(f"--epsilon must be a total-variation distance in (0, 1), got {args.epsilon}")


def print_counterfactual(c: dict) -> None:
    """The per-layer table and the verdict."""
    adv = {r["layer"]: r for r in c["adversarial"]["layers"]}
    uni = {r["layer"]: r for r in c["uniform"]["layers"]}
    ver = {r["layer"]: r for r in c["verdict"]["layers"]}

    def f(x, spec=".3f"):
        return "n/a" if x is None else format(x, spec)

    print(f"\ncounterfactual attention tests: permutation n={c['permutation']['n']}, adversarial "
          f"n={c['adversarial']['n']} (TVD <= {c['adversarial']['epsilon_tvd']}), uniform n={c['uniform']['n']}")
    print(f"{'layer':5s} {'max attn':>8s} {'med TVD':>8s} {'mean JSD':>8s} {'far':>5s} "
          f"{'uniform drop':>12s} {'95% CI':>17s} verdict")
    for row in c["permutation"]["layers"]:
        layer = row["layer"]
        a, u = adv.get(layer, {}), uni.get(layer, {})
        ci = u.get("drop_ci95") or [None, None]
        print(f"{layer:<5d} {f(row['mean_max_attention']):>8s} {f(row['median_output_change']):>8s} "
              f"{f(a.get('mean_jsd')):>8s} {f(a.get('fraction_far'), '.2f'):>5s} "
              f"{f(u.get('accuracy_drop')):>12s} {'[' + f(ci[0]) + ', ' + f(ci[1]) + ']':>17s} "
              f"{ver.get(layer, {}).get('verdict', 'n/a')}")
    print(f"verdict: {c['verdict']['verdict']} - {c['verdict']['summary']}")
