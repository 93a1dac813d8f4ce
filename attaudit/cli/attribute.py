"""`attaudit attribute`: AttAttr self-attention attribution of one text or a dataset file.

Writes one JSON object (``--text``) or a JSON list (``--data``) with tokens, prediction,
probabilities, scores (layers x heads x T x T), completeness_gap (one per layer), method and
steps. The file is written atomically (temporary file + rename): an error leaves no partial file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attaudit.cli.common import write_json_atomic
from attaudit.cli.errors import UserError
from common import registries

METHODS = registries.QUADRATURES


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "attribute",
        help="self-attention attribution (AttAttr) of a text or a dataset file",
        description="Self-attention attribution (Hao et al., AAAI 2021) of a text, a sentence "
        "pair, or every example of a CSV/TSV/JSONL/Parquet file.",
    )
    p.add_argument("--model", required=True, help="model directory (safetensors) or hub id")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="the text to attribute")
    src.add_argument("--data", help="dataset file: CSV, TSV, JSONL or Parquet")
    p.add_argument("--pair", help="second text of a sentence pair (with --text)")
    p.add_argument("--text-column", help="text column of --data (GLUE headers are guessed)")
    p.add_argument("--pair-column", help="second-text column of --data")
    p.add_argument("--label-column", help="label column of --data")
    p.add_argument("--limit", type=int, help="attribute only the first N examples of --data")
    p.add_argument("--target", default="predicted",
                   help="class to explain: predicted (default), gold, an index or a label name")
    p.add_argument("--method", choices=METHODS, default="gausslegendre",
                   help="quadrature rule (default gausslegendre)")
    p.add_argument("--steps", type=int, help="quadrature nodes (default 8, or 20 for Riemann)")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: CUDA when present)")
    p.add_argument("--json", required=True, dest="json_out", help="output JSON file")
    p.set_defaults(func=run)


def _target(value: str):
    return int(value) if value.lstrip("-").isdigit() else value


def run(args: argparse.Namespace) -> int:
    out = Path(args.json_out)
    if args.text is not None and not args.text.strip():
        raise UserError("empty --text")
    if args.pair is not None and (args.data or not args.pair.strip()):
        raise UserError("--pair needs --text and must not be empty")
    if not out.parent.is_dir():
        raise UserError(f"output directory {str(out.parent)!r} does not exist")

    from attribution.attention_attribution import AttentionAttribution
    from attribution.data import Example, load_examples
    from attribution.model_loading import load_classifier

    clf = load_classifier(args.model, device=args.device)
    engine = AttentionAttribution(clf)
    options = dict(target=_target(args.target), method=args.method, steps=args.steps)
    if args.text is not None:
        [result] = engine.attribute(Example(args.text, args.pair), **options)
        payload = result.to_json()
        payload["label"] = clf.labels[result.prediction]
        write_json_atomic(out, payload)
        print(f"{clf.labels[result.prediction]} ({max(result.probabilities):.3f}); "
              f"wrote {out}")
        return 0
    examples = load_examples(args.data, text_column=args.text_column,
                             pair_column=args.pair_column, label_column=args.label_column,
                             labels=clf.labels, limit=args.limit)
    from tqdm import tqdm

    with tqdm(total=100, desc="attribute", unit="%", file=sys.stderr,
              bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f}% [{elapsed}<{remaining}]") as bar:
        def progress(fraction: float) -> None:
            bar.update(100 * fraction - bar.n)

        results = engine.attribute(examples, progress=progress, **options)
    payload = []
    for r in results:
        item = r.to_json()
        item["label"] = clf.labels[r.prediction]
        payload.append(item)
    write_json_atomic(out, payload)
    print(f"attributed {len(results)} examples; wrote {out}")
    return 0
