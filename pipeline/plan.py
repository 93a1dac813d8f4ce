"""``attaudit audit --plan``: each stage's estimated time on this device, before it runs.

Calibration: the data is read, truncated and split as the audit would, and one batch of the
evaluation slice's median-length example is timed on the loaded model, once forward and once
forward + backward (after a warm-up). Each stage's cost is then counted in those units from the
budgets the config implies (examples, nodes, masks, orderings), with lengths scaled by the
slice's mean length. The counts follow the code:

* AttAttr on one example: for layer l the tail (layers l..L-1) runs forward + backward once per
  node and forward once at alpha = 0, i.e. (nodes + 1/3) * (L - l) / L full passes; summed over
  layers, (nodes + 1/3) * (L + 1) / 2 forward + backward passes, plus one plain forward. The
  adaptive default counts its measured mean of 6.7 nodes (``node_control``).
* heads: the orderings (attattr as above on the importance slice, attention and the pattern
  statistics one forward each, taylor one forward + backward, accdiff one forward per head
  mask), then one forward per (pruning mask, evaluation example).
* clean_eval: one forward per evaluation example.

Stages whose cost depends on what they find (TextAttack baselines, trigger damage re-ranking,
explainers) are given as rough lower bounds with a note. bench/scale.py compares these
estimates with measured stage times.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

ADAPTIVE_MEAN_NODES = 6.7  # node_control default ladder, measured mean (SST-2 MiniLM)


def _timed(fn, repeats: int = 2) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def calibrate(loaded, example, batch: int = 4) -> dict[str, float]:
    """Seconds per row of one forward and one forward + backward on ``example`` (batch rows)."""
    import torch

    from attribution.data import encode

    enc = encode(loaded.tokenizer, [example] * batch, loaded.device)
    model = loaded.model

    def fwd():
        with torch.no_grad():
            model(**enc)

    def fwd_bwd():
        emb = model.get_input_embeddings()(enc["input_ids"]).detach().requires_grad_(True)
        kw = {k: v for k, v in enc.items() if k != "input_ids"}
        out = model(inputs_embeds=emb, **kw).logits
        torch.autograd.grad(out[:, 0].sum(), emb)

    return {"forward_s": _timed(fwd) / batch, "forward_backward_s": _timed(fwd_bwd) / batch,
            "tokens": int(enc["input_ids"].shape[1]), "batch": batch}


def _unique_pruning_masks(cfg, num_heads: int) -> int:
    from attribution.pruning import GLOBAL_FRACTIONS

    per_ordering = 2 * ((len(GLOBAL_FRACTIONS) - 2) + (num_heads - 1))  # interior points
    return 2 + len([o for o in cfg.heads_orderings]) * per_ordering  # + all kept, all pruned


def estimate(run: Any) -> dict:
    """The plan of ``run`` (a ``pipeline.AuditRun``): calibration, budgets and per-stage seconds."""
    from attribution.batching import token_lengths

    cfg = run.config
    loaded = run.loaded()
    slices = run.slices()
    L = loaded.model.config.num_hidden_layers if hasattr(loaded.model.config, "num_hidden_layers") \
        else loaded.model.config.n_layers
    H = int(loaded.model.config.num_attention_heads if hasattr(loaded.model.config, "num_attention_heads")
            else loaded.model.config.n_heads)
    lengths = {name: token_lengths(loaded.tokenizer, part) for name, part in slices.items()}
    ev = slices["eval"]
    order = sorted(range(len(ev)), key=lambda i: lengths["eval"][i])
    median = ev[order[len(order) // 2]]
    cal = calibrate(loaded, median)
    T0 = cal["tokens"]

    def scale(name: str, n: int | None = None) -> float:
        """Mean cost of a row of slice ``name`` (first n) relative to the calibration length
        (linear in T: below ~512 tokens the projections and FFN dominate)."""
        ls = lengths[name][: n] if n else lengths[name]
        return (statistics.fmean(ls) / T0) if ls else 1.0

    fwd, fb = cal["forward_s"], cal["forward_backward_s"]
    nodes = cfg.steps if cfg.steps is not None else ADAPTIVE_MEAN_NODES
    attattr_one = (nodes + 1 / 3) * (L + 1) / 2 * fb + fwd
    n_eval = min(cfg.eval_examples, len(ev))
    n_imp = min(cfg.importance_examples, len(slices["importance"]))
    n_prune = min(cfg.eval_examples, cfg.pruning_examples, len(ev))
    n_attr = min(cfg.examples, len(ev))
    stages: dict[str, dict] = {}
    if "clean_eval" in run.stage_names:
        stages["clean_eval"] = {"seconds": n_eval * fwd * scale("eval", n_eval),
                                "budget": {"forwards": n_eval}}
    if "attribution" in run.stage_names:
        stages["attribution"] = {"seconds": n_attr * attattr_one * scale("eval", n_attr),
                                 "budget": {"examples": n_attr, "nodes": nodes, "layers": L}}
    if "heads" in run.stage_names:
        s_imp = scale("importance", n_imp)
        order_s = {"attattr": n_imp * attattr_one, "attention": n_imp * fwd, "taylor": n_imp * fb,
                   "accdiff": n_imp * (L * H + 1) * fwd, "random": 0.0}
        masks = _unique_pruning_masks(cfg, H)
        secs = (sum(order_s[o] for o in cfg.heads_orderings) + n_imp * fwd) * s_imp \
            + masks * n_prune * fwd * scale("eval", n_prune)
        stages["heads"] = {"seconds": secs, "budget": {"importance_examples": n_imp,
                                                       "pruning_masks": masks,
                                                       "pruning_examples": n_prune}}
    if "triggers" in run.stage_names:
        n_mine = min(cfg.mining_examples, len(slices["mining"]))
        secs = n_mine * attattr_one * scale("mining", n_mine) + cfg.triggers * 2 * n_eval * fwd
        stages["triggers"] = {"seconds": secs, "budget": {"mining_examples": n_mine},
                              "note": "lower bound: mining + one pass per trigger and position"}
    if "baselines" in run.stage_names:
        stages["baselines"] = {"seconds": None, "budget": {"baseline_examples": cfg.baseline_examples},
                               "note": "not estimated: TextAttack search length depends on the model"}
    if "explainers" in run.stage_names:
        secs = n_attr * (attattr_one + 16 * fb + 8 * fwd) * scale("eval", n_attr)
        stages["explainers"] = {"seconds": secs, "budget": {"examples": n_attr},
                                "note": "rough: one AttAttr, 16-node IG and a few passes per example"}
    known = [s["seconds"] for s in stages.values() if s["seconds"] is not None]
    return {"device": str(loaded.device), "calibration": cal, "layers": L, "heads": H,
            "mean_tokens": {k: (statistics.fmean(v) if v else 0.0) for k, v in lengths.items()},
            "truncation": run._truncation, "stages": stages, "total_seconds": sum(known)}


def format_plan(plan: dict) -> str:
    lines = [f"plan on {plan['device']}: calibration {plan['calibration']['tokens']} tokens, "
             f"{1000 * plan['calibration']['forward_s']:.1f} ms forward, "
             f"{1000 * plan['calibration']['forward_backward_s']:.1f} ms forward+backward per row"]
    tr = plan.get("truncation") or {}
    if tr:
        lines.append(f"truncation ({tr['side']}, {tr['max_length']} tokens): {tr['truncated']} of "
                     f"{tr['examples']} examples cut, {tr['tokens_lost']} tokens lost")
    for name, s in plan["stages"].items():
        secs = "not estimated" if s["seconds"] is None else f"~{s['seconds']:.0f} s"
        budget = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in s["budget"].items())
        lines.append(f"  {name:<12}{secs:>16}   ({budget}){'  ' + s['note'] if s.get('note') else ''}")
    total = f"~{plan['total_seconds']:.0f} s"
    lines.append(f"  {'total':<12}{total:>16}")
    return "\n".join(lines)
