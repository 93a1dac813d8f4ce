"""`attaudit explain`: token scores from several explainers and their faithfulness table."""

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
    p.set_defaults(func=run)


def run(args) -> int:
    methods = csv_list(args.methods, METHODS, "method")
    try:
        bins = [float(b) for b in args.bins.split(",")]
    except ValueError as exc:
        raise UserError(f"--bins must be comma-separated fractions: {args.bins!r}") from exc
    if args.limit < 1:
        raise UserError("--limit must be at least 1")
    loaded, examples = load(args, limit=args.limit)
    if args.target == "gold" and any(ex.label is None for ex in examples):
        raise UserError(f"{args.data}: --target gold needs a label in every row")

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
    write_json_atomic(args.json, {
        "model": args.model, "data": args.data, "model_sha256": loaded.sha256,
        "faithfulness": report.to_json(),
        "explanations": {m: [e.to_json() for e in ex] for m, ex in explanations.items()},
    })
    print(f"{'method':22s} {'AOPC comp':>10s} {'AOPC suff':>10s} {'tau(LOO)':>9s}")
    for name in report.ranking:
        m = next(x for x in report.methods if x.method == name)
        tau = m.tau_loo.mean if m.tau_loo else float("nan")
        print(f"{name:22s} {m.aopc_comprehensiveness:10.4f} {m.aopc_sufficiency:10.4f} {tau:9.3f}")
    return 0
