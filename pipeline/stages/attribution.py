"""Stage attribution: AttAttr (Hao et al., AAAI 2021, arXiv 2004.11207) over a sample.

Per example of the evaluation slice (the first ``config.examples``): tokens, prediction, the
completeness gap and nodes per layer, the top token-pair connections per layer (heads summed)
and per (layer, head), per-token aggregates (L, T), the heatmap of the ``heatmap_tokens`` tokens
with the most attribution mass (L, H, k, k and heads summed), and, when the head-analysis
library is present, the attribution tree (paper section 4.3).

Bounded size: the JSON of one example holds L * (H + 1) * k^2 heatmap cells, L * (3 + 2H)
connections, 2 * L * T token aggregates and the tree (at most T nodes), so it grows at most
linearly in T (T <= the model's maximum length), never as T^2. The dense (L, H, T, T) tensors go
to a safetensors sidecar only with ``dense_tensors`` (``attribution.tensor_sidecar``).
"""

from __future__ import annotations

from typing import Any

from pipeline.context import StageContext

REQUIRES = [
    "attribution.attention_attribution:AttentionAttribution",
    "attribution.views:top_connections",
]
SIDECAR = "attribution_tensors.safetensors"  # its name next to report.json


def _round(x: Any, digits: int = 4) -> Any:
    """Round to ``digits`` significant digits (keeps the report small, tiny scores readable)."""
    if isinstance(x, list):
        return [_round(v, digits) for v in x]
    return float(f"{float(x):.{digits}g}")


def _tree(result: Any, threshold: float) -> dict | None:
    """The attribution tree (paper section 4.3) as nodes and edges for drawing, when available."""
    try:
        from attribution.attribution_tree import AttributionTreeBuilder
        from attribution.views import head_summed
    except ImportError:
        return None
    tree = AttributionTreeBuilder(tau=threshold).build(head_summed(result), tokens=list(result.tokens))
    return {
        "tau": tree.tau, "root": tree.root,
        "nodes": [{"id": n.token_index, "position": n.token_index, "token": n.token, "layer": n.layer}
                  for n in tree.nodes],
        "edges": [{"source": e.parent, "target": e.child, "layer": e.layer, "score": _round(e.score, 6)}
                  for e in tree.edges],
    }


def _heatmap(scores: Any, k: int) -> dict:
    """The k tokens with the most attribution mass (as query or key, all layers and heads), in
    position order, and the (L, H, k, k) / (L, k, k) scores among them."""
    T = scores.shape[-1]
    mass = scores.abs().sum(dim=(0, 1))  # (T, T)
    per_token = mass.sum(0) + mass.sum(1)  # (T,)
    index = sorted(per_token.topk(min(k, T)).indices.tolist())
    sub = scores[:, :, index][:, :, :, index]  # (L, H, k, k)
    return {"index": index, "scores": _round(sub.tolist()),
            "head_summed": _round(sub.sum(dim=1).tolist())}


def _connections(res: Any, top_connections: Any) -> list[dict]:
    conns = []
    layers, heads = res.scores.shape[:2]
    for layer in range(layers):
        picks = list(top_connections(res, k=3, layer=layer))
        for head in range(heads):
            picks += top_connections(res, k=2, layer=layer, head=head)
        for c in picks:
            conns.append({"layer": c.layer, "head": c.head, "src": c.src, "dst": c.dst,
                          "src_token": c.src_token, "dst_token": c.dst_token,
                          "score": _round(c.score, 6)})
    return conns


def run(ctx: StageContext) -> dict:
    from attribution.attention_attribution import AttentionAttribution
    from attribution.views import top_connections

    cfg = ctx.config
    sample = ctx.slice("eval", cfg.examples)
    engine = AttentionAttribution(ctx.loaded)
    results = engine.attribute(sample, method=cfg.method, steps=cfg.steps,
                               progress=ctx.sub_progress(0.0, 0.95))
    examples = []
    for ex, res in zip(sample, results, strict=True):
        summed = res.scores.sum(dim=1)  # (L, T, T)
        examples.append({
            "text": ex.text, "pair": ex.pair, "label": ex.label,
            "tokens": list(res.tokens), "prediction": int(res.prediction),
            "probabilities": _round(list(res.probabilities), 6), "target": int(res.target),
            "heatmap": _heatmap(res.scores, cfg.heatmap_tokens),
            # per token and layer, heads summed: attribution of the links it sends (as key)
            # and receives (as query)
            "token_out": _round(summed.sum(dim=1).tolist(), 3),  # (L, T)
            "token_in": _round(summed.sum(dim=2).tolist(), 3),  # (L, T)
            "completeness_gap": _round(list(res.completeness_gap), 3),
            "nodes": list(res.nodes),
            "top_connections": _connections(res, top_connections),
            "tree": _tree(res, cfg.tree_threshold),
        })
    out = {"method": results[0].method if results else cfg.method,
           "steps": results[0].steps if results else cfg.steps,
           "layers": int(results[0].scores.shape[0]) if results else 0,
           "heads": int(results[0].scores.shape[1]) if results else 0,
           "labels": ctx.labels, "examples": examples, "tensors": None}
    if cfg.dense_tensors:
        from attribution.tensor_sidecar import FORMAT, save_attributions

        path = save_attributions(results, ctx.artifact_path(
            f"attribution-{cfg.cache_key('attribution')}.safetensors"))
        out["tensors"] = {"file": SIDECAR, "artifact": path.name, "format": FORMAT,
                          "bytes": path.stat().st_size,
                          "layout": "example_{i:04d}.scores float32 (L, H, T, T); "
                                    "example_{i:04d}.completeness_gap float64 (L,)"}
    ctx.progress(1.0)
    return out
