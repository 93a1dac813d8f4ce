"""Stage probing: layer-wise linear probes with control tasks, and the no-op check.

Per layer (embeddings first), a cross-validated logistic regression on the [CLS] vector and on
mean-pooled tokens for the task label, sentence length, word order and negation, each with its
Hewitt-Liang control task (``attribution.probing``), plus Clark et al.'s gradient check of
attention to [SEP] / [CLS] (``attribution.attention_noop``). Runs on the evaluation slice; the
label probe needs gold labels, the other properties do not.
"""

from __future__ import annotations

from pipeline.context import StageContext

REQUIRES = [
    "attribution.probing:LayerProber",
    "attribution.attention_noop:noop_check",
    "sklearn.linear_model:LogisticRegression",
]


def run(ctx: StageContext) -> dict:
    from attribution.attention_noop import noop_check
    from attribution.probing import LayerProber

    cfg = ctx.config
    loaded = ctx.loaded
    rows = ctx.slice("eval", cfg.probing_examples)
    report = LayerProber(loaded.model, loaded.tokenizer, ctx.labels).probe(
        rows, properties=cfg.probing_properties, folds=cfg.probing_folds, seed=cfg.seed,
        progress=ctx.sub_progress(0.0, 0.85))
    out = report.to_json()
    if cfg.noop_examples:
        out["noop"] = noop_check(loaded.model, loaded.tokenizer, rows[: cfg.noop_examples]).to_json()
    ctx.progress(1.0)
    return out
