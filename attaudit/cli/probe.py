"""`attaudit probe`: layer-wise linear probes (task label, length, word order, negation) with
control tasks, and the attention-to-[SEP] no-op check (``attribution.probing``)."""

from __future__ import annotations

from attaudit.cli.common import tqdm_progress, write_json_atomic
from attaudit.cli.errors import UserError
from attaudit.cli.heads import add_data_args, csv_list, load
from common.registries import PROBING_PROPERTIES as PROPERTIES


def register(subparsers) -> None:
    p = subparsers.add_parser("probe", help="layer-wise linear probes and the no-op check",
                              description=__doc__)
    add_data_args(p)
    p.add_argument("--properties", default=",".join(PROPERTIES),
                   help=f"comma-separated ({', '.join(PROPERTIES)})")
    p.add_argument("--examples", type=int, default=500, help="rows probed (first N of --data)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    p.add_argument("--noop-examples", type=int, default=32, help="rows for the no-op check (0: skip)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args) -> int:
    from attribution.probing import LayerProber

    props = csv_list(args.properties, PROPERTIES, "property")
    if args.examples < 2 * args.folds or args.folds < 2:
        raise UserError(f"--examples must be at least 2 x --folds (>= 2); got {args.examples}, {args.folds}")
    if args.noop_examples < 0:
        raise UserError("--noop-examples must be >= 0")
    loaded, examples = load(args, limit=args.examples)
    bar, hook = tqdm_progress("probing")
    report = LayerProber(loaded.model, loaded.tokenizer, loaded.labels).probe(
        examples, properties=props, folds=args.folds, seed=args.seed, progress=hook)
    bar.close()
    payload = {"model": args.model, "data": args.data, "model_sha256": loaded.sha256,
               "probing": report.to_json()}
    if args.noop_examples:
        from attribution.attention_noop import noop_check

        payload["noop"] = noop_check(loaded.model, loaded.tokenizer, examples[: args.noop_examples]).to_json()
    write_json_atomic(args.json, payload)
    for name, prop in report.properties.items():
        acc, sel = prop.accuracy("cls"), prop.selectivity("cls")
        best = prop.best_layer("cls")
        print(f"{name:<11} [CLS] best layer {best}: accuracy {acc[best]:.3f} "
              f"(selectivity {sel[best]:+.3f}); by layer " + " ".join(f"{a:.2f}" for a in acc))
    for name, why in report.skipped.items():
        print(f"{name:<11} skipped: {why}")
    return 0
