"""Stage clean_eval: accuracy overall and per gold class on the evaluation slice."""

from __future__ import annotations

from pipeline.context import StageContext
from pipeline.predict import per_class_accuracy, predict

REQUIRES = ["attribution.model_loading:load_classifier", "attribution.data:encode"]


def run(ctx: StageContext) -> dict:
    examples = ctx.labelled("eval", ctx.config.eval_examples)
    preds = predict(ctx.loaded, examples, progress=ctx.progress)
    golds = [ex.label for ex in examples]
    out = per_class_accuracy(golds, preds, ctx.labels)
    out["labels"] = ctx.labels
    return out
