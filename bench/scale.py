"""Bench: audits at real sizes. MiniLM-L6 and a BERT-base-size model at 32..512 tokens.

Models: the MiniLM-L6 fine-tuned on SST-2 (``bench/minilm_checkpoint.py``) and a BERT-base-size
classifier (12 layers, 12 heads, hidden 768, intermediate 3072; seeded random weights saved with
``save_pretrained``, MiniLM's uncased WordPiece tokenizer): its accuracy is meaningless, its
cost is real. Data: SST-2 dev (natural length, ~25 tokens) and
``/work/shared/data/IMDB/test_sample.csv`` cut (``truncation=head``, ``max_length``) to 32, 128,
256 and 512 tokens.

Each point runs in its own subprocess (so peak RSS is the point's own): ``attaudit audit --plan``
first (its estimate), then a real audit with stages ``clean_eval`` and ``attribution``
(``--examples`` attributed examples with the audit's default nodes, ``--eval`` clean examples),
then the report is written. Recorded: the plan's estimate and the measured time of each stage
(wall and CPU time of this process; 1 torch thread), time per attributed example, peak RSS,
report.html / report.json sizes. Fitted: growth exponent b of time per example ~ T^b (log-log
least squares over the IMDB points). Outputs ``bench/results/scale.json`` and ``scale.png``.

    python -m bench.scale [--examples 1 --eval 4 --lengths 32 128 256 512]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMDB = Path("/work/shared/data/IMDB/test_sample.csv")
SST2 = Path("/work/shared/data/SST-2/dev.tsv")
BERT_BASE_DIR = Path.home() / ".cache" / "attaudit" / "bench-bert-base-random-seed0"


def bert_base_model(seed: int = 0) -> Path:
    """A BERT-base-size classifier with seeded random weights (cached), MiniLM's tokenizer."""
    if (BERT_BASE_DIR / "model.safetensors").is_file():
        return BERT_BASE_DIR
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from bench.minilm_checkpoint import minilm_checkpoint

    torch.manual_seed(seed)
    cfg = BertConfig(num_hidden_layers=12, num_attention_heads=12, hidden_size=768,
                     intermediate_size=3072, max_position_embeddings=512, num_labels=2,
                     id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1})
    model = BertForSequenceClassification(cfg).eval()
    tmp = Path(tempfile.mkdtemp(prefix=".bert-base-", dir=BERT_BASE_DIR.parent))
    model.save_pretrained(tmp, safe_serialization=True)
    AutoTokenizer.from_pretrained(minilm_checkpoint()).save_pretrained(tmp)
    os.replace(tmp, BERT_BASE_DIR)
    return BERT_BASE_DIR


def one_point(model: str, data: str, max_length: int | None, examples: int, n_eval: int,
              out: str) -> dict:
    """Run in a subprocess: plan, audit (clean_eval + attribution), report; print JSON."""
    import torch

    torch.set_num_threads(1)
    from common.audit_config import AuditConfig
    from pipeline import AuditRun
    from pipeline.plan import estimate

    cfg = AuditConfig(stages=["clean_eval", "attribution"], examples=examples, eval_examples=n_eval,
                      max_length=max_length, allow_overlap=True, max_rows=max(n_eval, examples, 8))
    work = Path(out) / "work"
    run = AuditRun(model, data, cfg, work)
    t0 = time.perf_counter()
    plan = estimate(run)
    plan_s = time.perf_counter() - t0
    measured, cpu = {}, {}
    for stage in cfg.stages:
        w0, c0 = time.perf_counter(), time.process_time()
        run.run_stage(stage)
        measured[stage], cpu[stage] = time.perf_counter() - w0, time.process_time() - c0
    paths = run.write_report(Path(out) / "report")
    att = run.run_stage("attribution")
    tokens = [len(e["tokens"]) for e in att["examples"]]
    return {
        "plan_seconds": {k: v["seconds"] for k, v in plan["stages"].items()},
        "plan_overhead_s": plan_s, "calibration": plan["calibration"],
        "measured_seconds": measured, "cpu_seconds": cpu,
        "seconds_per_attributed_example": measured["attribution"] / len(tokens),
        "cpu_seconds_per_attributed_example": cpu["attribution"] / len(tokens),
        "tokens": tokens, "mean_tokens": sum(tokens) / len(tokens),
        "nodes": [e["nodes"] for e in att["examples"]],
        "truncation": plan["truncation"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "report_html_bytes": paths["report.html"].stat().st_size,
        "report_json_bytes": paths["report.json"].stat().st_size,
    }


def fit_exponent(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(y) on log(x)."""
    pts = [(math.log(x), math.log(y)) for x, y in points if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx if sxx else None


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for model in sorted({r["model"] for r in rows}):
        pts = sorted((r["mean_tokens"], r["cpu_seconds_per_attributed_example"]) for r in rows
                     if r["model"] == model and r["data"] == "IMDB")
        if pts:
            ax.plot(*zip(*pts, strict=True), "o-", label=f"{model} (IMDB)")
        sst = [(r["mean_tokens"], r["cpu_seconds_per_attributed_example"]) for r in rows
               if r["model"] == model and r["data"] == "SST-2"]
        if sst:
            ax.plot(*zip(*sst, strict=True), "s", label=f"{model} (SST-2)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("tokens per example")
    ax.set_ylabel("CPU seconds per attributed example (1 thread)")
    ax.set_title("AttAttr cost vs input length (audit default nodes)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def write_results(rows: list[dict], args: argparse.Namespace) -> dict:
    """Write scale.json and scale.png for the points measured so far; returns the exponents."""
    exponents = {}
    for name in args.models:
        pts = [(r["mean_tokens"], r["cpu_seconds_per_attributed_example"]) for r in rows
               if r["model"] == name and r["data"] == "IMDB"]
        exponents[name] = fit_exponent(pts)
    result = {
        "threads": 1, "examples_per_point": args.examples, "eval_per_point": args.eval,
        "timing": "wall seconds on a shared 2-core machine (other jobs running); CPU seconds too",
        "rows": rows,
        "growth_exponent_cpu_time_per_example_vs_T": exponents,
        "plan_ratio_measured_over_estimate": {
            f"{r['model']}/{r['data']}/{r['max_length']}": {
                s: r["measured_seconds"][s] / r["plan_seconds"][s] for s in r["plan_seconds"]}
            for r in rows},
        "targets": {"report_mb": 10, "peak_rss_gb_bert_base_512": 6, "plan_within_factor": 1.5},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(rows, args.out / "scale.png")
    return exponents


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=1, help="attributed examples per point")
    ap.add_argument("--eval", type=int, default=4, help="clean-eval examples per point")
    ap.add_argument("--lengths", type=int, nargs="+", default=[128, 512, 32, 256])
    ap.add_argument("--models", nargs="+", default=["minilm", "bert-base"])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--point", help=argparse.SUPPRESS)  # internal: run one point, print JSON
    args = ap.parse_args(argv)
    if args.point:
        spec = json.loads(args.point)
        print("POINT " + json.dumps(one_point(**spec)))
        return 0
    from bench.minilm_checkpoint import minilm_checkpoint

    models = {"minilm": minilm_checkpoint, "bert-base": bert_base_model}
    paths = {name: str(models[name]()) for name in args.models}
    # Breadth first (SST-2, then the lengths in the order given, each on every model), so a run
    # cut short still covers both models; results are written after every point.
    grid = [(name, paths[name], "SST-2", str(SST2), None) for name in args.models]
    grid += [(name, paths[name], "IMDB", str(IMDB), n) for n in args.lengths for name in args.models]
    rows = []
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    for name, path, data_name, data, length in grid:
        with tempfile.TemporaryDirectory(prefix="attaudit-scale-") as tmp:
            spec = {"model": path, "data": data, "max_length": length, "examples": args.examples,
                    "n_eval": args.eval, "out": tmp}
            proc = subprocess.run([sys.executable, "-m", "bench.scale", "--point", json.dumps(spec)],
                                  cwd=ROOT, env=env, capture_output=True, text=True)
            line = next((x for x in proc.stdout.splitlines() if x.startswith("POINT ")), None)
            if proc.returncode != 0 or line is None:
                print(proc.stderr[-2000:], file=sys.stderr)
                raise SystemExit(f"point {name} {data_name} {length} failed")
            row = {"model": name, "data": data_name, "max_length": length, **json.loads(line[6:])}
        rows.append(row)
        write_results(rows, args)
        ratio = {s: row["measured_seconds"][s] / row["plan_seconds"][s] for s in row["plan_seconds"]}
        print(f"{name:<10}{data_name:<6}{str(length or '-'):>5} T={row['mean_tokens']:6.1f} "
              f"{row['seconds_per_attributed_example']:8.2f} s/ex  rss {row['peak_rss_mb']:6.0f} MB  "
              f"html {row['report_html_bytes'] / 1e6:5.2f} MB json {row['report_json_bytes'] / 1e6:5.2f} MB  "
              f"measured/plan " + " ".join(f"{s}={r:.2f}" for s, r in ratio.items()), flush=True)
    exponents = write_results(rows, args)
    print("growth exponents (CPU s per example ~ T^b):",
          ", ".join(f"{k}: {v:.2f}" if v is not None else f"{k}: n/a" for k, v in exponents.items()))
    print(f"wrote {args.out / 'scale.json'} and {args.out / 'scale.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
