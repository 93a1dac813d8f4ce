"""`attaudit heads`: head importance (five orderings), pruning curves, optional structural pruning."""

from __future__ import annotations

import argparse

from attaudit.cli.common import tqdm_progress, write_json_atomic
from attaudit.cli.errors import UserError
from common import registries

ORDERINGS = registries.HEAD_ORDERINGS


def add_data_args(p: argparse.ArgumentParser) -> None:
    """--model/--data/--*-column/--json/--device, shared with `attaudit explain`."""
    p.add_argument("--model", required=True, help="directory of a saved sequence classifier")
    p.add_argument("--data", required=True, help="CSV / TSV / JSONL / Parquet file")
    p.add_argument("--text-column", help="text column (guessed from GLUE headers by default)")
    p.add_argument("--pair-column", help="second text column for sentence pairs")
    p.add_argument("--label-column", help="gold label column (names or integers)")
    p.add_argument("--json", required=True, help="write results to this JSON file")
    p.add_argument("--device", help="cpu | cuda | cuda:N (default: CUDA when present)")


def csv_list(value: str, valid: tuple[str, ...], what: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in valid]
    if bad or not items:
        raise UserError(f"unknown {what} {bad or value!r}; valid: {', '.join(valid)}")
    return items


def load(args, *, limit: int | None = None):
    """Load model and examples; library errors surface as one-line input errors."""
    from attribution.data import load_examples
    from attribution.model_loading import load_classifier

    loaded = load_classifier(args.model, device=args.device)
    examples = load_examples(args.data, text_column=args.text_column, pair_column=args.pair_column,
                             label_column=args.label_column, labels=loaded.labels, limit=limit)
    return loaded, examples


def register(subparsers) -> None:
    p = subparsers.add_parser("heads", help="head importance, pruning curves, structural pruning",
                              description=__doc__)
    add_data_args(p)
    p.add_argument("--by", default=",".join(ORDERINGS), help=f"orderings, comma-separated ({', '.join(ORDERINGS)})")
    p.add_argument("--held-out", type=int, default=64,
                   help="first N rows compute the importance; the rest are the evaluation slice")
    p.add_argument("--eval-limit", type=int, help="at most this many evaluation rows")
    p.add_argument("--seed", type=int, default=0, help="seed of the random ordering")
    p.add_argument("--steps", type=int, help="AttAttr quadrature steps (engine default otherwise)")
    p.add_argument("--write-pruned", metavar="DIR",
                   help="also write a structurally pruned model to DIR")
    p.add_argument("--prune-fraction", type=float, default=0.5, help="fraction of heads to remove")
    p.add_argument("--prune-by", default=None, help="ordering used for --write-pruned (default: first of --by)")
    p.set_defaults(func=run)


def run(args) -> int:
    by = csv_list(args.by, ORDERINGS, "ordering")
    prune_by = args.prune_by or by[0]
    if prune_by not in by:
        raise UserError(f"--prune-by {prune_by!r} must be one of --by ({', '.join(by)})")
    if not 0 < args.prune_fraction < 1:
        raise UserError("--prune-fraction must be between 0 and 1")
    if args.held_out < 1:
        raise UserError("--held-out must be at least 1")
    limit = None if args.eval_limit is None else args.held_out + args.eval_limit
    loaded, examples = load(args, limit=limit)
    if any(ex.label is None for ex in examples):
        raise UserError(f"{args.data}: every row needs a gold label (use --label-column)")
    if len(examples) <= args.held_out:
        raise UserError(f"{args.data}: {len(examples)} rows, need more than --held-out {args.held_out}")
    held, evaluation = examples[: args.held_out], examples[args.held_out:]

    from attribution.head_importance import HeadImportance
    from attribution.pruning import PruningRobustness, global_masks

    bar, hook = tqdm_progress("head importance")
    importance = HeadImportance(loaded).compute(held, by=by, seed=args.seed,
                                                attattr_steps=args.steps, progress=hook)
    bar.close()
    bar, hook = tqdm_progress("pruning curves")
    report = PruningRobustness(loaded).curves(importance.scores, evaluation, progress=hook)
    bar.close()
    payload = {
        "model": args.model, "data": args.data, "model_sha256": loaded.sha256,
        "held_out_rows": [1, len(held)], "evaluation_rows": [len(held) + 1, len(examples)],
        "importance": importance.to_json(), "pruning": report.to_json(),
    }
    if args.write_pruned:
        from attribution.structural_pruning import StructuralPruner

        mask = global_masks(importance.scores[prune_by], [args.prune_fraction], "least")[0]
        result = StructuralPruner(loaded).prune(mask, output_dir=args.write_pruned,
                                                check_examples=evaluation[:32])
        payload["structural_pruning"] = result.to_json() | {"ordering": prune_by}
    write_json_atomic(args.json, payload)
    print(f"full accuracy {report.full_accuracy:.4f} on {len(evaluation)} rows")
    print("accuracy with 50% of heads pruned (global, least important first):")
    for name in by:
        print(f"  {name:10s} {report.curve(name, 'global', 'least').at(0.5):.4f}")
    if args.write_pruned:
        sp = payload["structural_pruning"]
        print(f"pruned model: {sp['params_after']}/{sp['params_before']} parameters, "
              f"speed-up x{sp['speedup']:.2f}, max logit diff {sp['max_abs_logit_diff']:.2e}")
    return 0
