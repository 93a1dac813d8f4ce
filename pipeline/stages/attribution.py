"""Stage attribution: AttAttr (Hao et al., AAAI 2021, arXiv 2004.11207) over a sample.

Per example of the evaluation slice (the first ``config.examples``): tokens, prediction, the
(L, H, T, T) attribution scores (4 significant digits in the report), the completeness gap per
layer, the top token-pair connections per layer and, when the head-analysis library is present,
the attribution tree (paper section 4.3).
"""

from __future__ import annotations

from typing import Any

from pipeline.context import StageContext

REQUIRES = [
    "attribution.attention_attribution:AttentionAttribution",
    "attribution.views:top_connections",
]


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
        layers = res.scores.shape[0]
        conns = []
        for layer in range(layers):
            for c in top_connections(res, k=3, layer=layer):
                conns.append({"layer": c.layer, "head": c.head, "src": c.src, "dst": c.dst,
                              "src_token": c.src_token, "dst_token": c.dst_token,
                              "score": _round(c.score, 6)})
        examples.append({
            "text": ex.text, "pair": ex.pair, "label": ex.label,
            "tokens": list(res.tokens), "prediction": int(res.prediction),
            "probabilities": _round(list(res.probabilities), 6), "target": int(res.target),
            "scores": _round(res.scores.tolist()),  # (L, H, T, T)
            "scores_head_summed": _round(res.scores.sum(dim=1).tolist()),  # (L, T, T)
            "completeness_gap": _round(list(res.completeness_gap), 3),
            "top_connections": conns,
            "tree": _tree(res, cfg.tree_threshold),
        })
    ctx.progress(1.0)
    return {"method": results[0].method if results else cfg.method,
            "steps": results[0].steps if results else cfg.steps,
            "labels": ctx.labels, "examples": examples}
