"""All counterfactual attention tests and the verdict in one call (the stage and the CLI use it).

Sizes: the permutation test per layer on every example, per head on the first
``head_examples``; the adversarial search on the first ``adversarial_examples``; the uniform
baseline per layer and all layers on every labelled example of ``labelled`` and per head on its
first ``head_examples``. The correlation half (attention vs gradient x input Kendall tau, Jain and
Wallace 2019) is taken from ``pairwise_tau`` when given (e.g. the explainers stage's), else
computed on ``examples``. Returns plain data: NaN and inf become None (strict JSON).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from attribution.counterfactual.adversarial_attention import AdversarialAttention
from attribution.counterfactual.permutation import PermutationTest
from attribution.counterfactual.uniform_attention import UniformAttentionBaseline
from attribution.counterfactual.verdict import model_verdict
from attribution.data import Example
from attribution.errors import AttributionInputError
from attribution.model_loading import LoadedClassifier

PAIR = "attention~grad_input"


def finite(value: Any) -> Any:
    """``value`` with NaN/inf as None and floats to 6 significant digits."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def attention_gradient_tau(loaded: LoadedClassifier, examples: Sequence[Example]) -> dict:
    """Kendall tau of raw attention against gradient x input over the examples' tokens."""
    from attribution.explainers import get_explainer
    from attribution.faithfulness import tau_between

    tau = tau_between(get_explainer("attention", loaded).explain(list(examples)),
                      get_explainer("grad_input", loaded).explain(list(examples)))
    return {"mean": tau.mean, "std": tau.std, "fraction_significant": tau.frac_significant, "n": tau.n}


def run_counterfactual(
    loaded: LoadedClassifier,
    examples: Sequence[Example],
    labelled: Sequence[Example],
    *,
    permutations: int = 10,
    head_examples: int = 8,
    adversarial_examples: int = 8,
    epsilon: float = 0.01,
    steps: int = 40,
    seed: int = 0,
    pairwise_tau: Mapping[str, Any] | None = None,
    progress: Callable[[float], None] | None = None,
) -> dict:
    """Permutation, adversarial attention, uniform baseline, correlation and the verdict."""
    examples, labelled = list(examples), list(labelled)
    if not examples:
        raise AttributionInputError("no examples for the counterfactual attention tests")
    if not labelled or any(ex.label is None for ex in labelled):
        raise AttributionInputError("the uniform-attention baseline needs labelled examples")
    for name, value in (("head_examples", head_examples), ("adversarial_examples", adversarial_examples)):
        if value < 1:
            raise AttributionInputError(f"{name} must be at least 1")

    def part(a: float, b: float) -> Callable[[float], None] | None:
        return None if progress is None else (lambda f: progress(a + (b - a) * f))

    perm_engine = PermutationTest(loaded)
    perm = perm_engine.run(examples, permutations=permutations, per_head=False, seed=seed,
                           progress=part(0.0, 0.25)).to_json()
    heads = perm_engine.run(examples[:head_examples], permutations=permutations, seed=seed,
                            progress=part(0.25, 0.45)).to_json()
    for row, hrow in zip(perm["layers"], heads["layers"], strict=True):
        row["head_median_output_change"] = hrow["head_median_output_change"]
    perm["heads_n"] = heads["n"]
    adv = AdversarialAttention(loaded).run(examples[:adversarial_examples], epsilon=epsilon, steps=steps,
                                           seed=seed, progress=part(0.45, 0.8)).to_json()
    uni_engine = UniformAttentionBaseline(loaded)
    uni = uni_engine.run(labelled, per_head=False, progress=part(0.8, 0.88)).to_json()
    uni_heads = uni_engine.run(labelled[:head_examples], per_head=True, progress=part(0.88, 0.95)).to_json()
    uni["heads"], uni["heads_n"] = uni_heads["heads"], uni_heads["n"]
    if pairwise_tau and pairwise_tau.get(PAIR):
        corr = {PAIR: dict(pairwise_tau[PAIR]), "source": "explainers"}
    else:
        corr = {PAIR: attention_gradient_tau(loaded, examples), "source": "computed on the examples"}
    if progress is not None:
        progress(1.0)
    verdict = model_verdict(pairwise_tau={PAIR: corr[PAIR]}, permutation=perm, adversarial=adv, uniform=uni)
    return finite({"verdict": verdict, "permutation": perm, "adversarial": adv, "uniform": uni,
                   "correlation": corr, "num_layers": loaded.num_layers, "num_heads": loaded.num_heads})
