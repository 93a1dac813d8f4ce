"""One per-model verdict on "is attention explanation?" from both halves of the debate.

Evidence, each per layer where it exists:

* correlation (Jain and Wallace 2019, Section 3): mean Kendall tau between attention and a
  gradient / leave-one-out ranking (from the explainers stage). Agreement needs tau >= 0.3;
* permutation (Jain and Wallace 2019, Section 4.1): the layer's attention *matters* when the
  median output change under permutation is >= ``change_threshold`` (TVD, default 0.05);
* adversarial attention (Jain and Wallace 2019, Section 4.2): the layer's attention is
  *unique* when the search does not usually find a map ``far`` away (JSD >= ln2 / 2) with the
  output within epsilon: fewer than half the examples reach it;
* uniform attention (Wiegreffe and Pinter 2019, Section 3.1): the layer's attention is
  *needed* when making it uniform costs accuracy: the paired 95% interval of the drop lies
  above 0.

A layer whose attention matters, is unique and is needed supports reading it as an explanation
("supported"); none of the three: "not supported"; otherwise "mixed". The model's verdict is
the layers' common verdict, or "layer-dependent" with the layers listed. The thresholds are
this module's choice (the papers argue from plots, not cut-offs) and are returned with the
verdict. All of it is data: every statement carries the numbers it rests on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

TAU_AGREES = 0.3
CRITERIA = {
    "kendall_tau_agrees_at": TAU_AGREES,
    "permutation_matters_at_median_tvd": "the permutation test's change_threshold",
    "adversarial_unique_if_fraction_far_below": 0.5,
    "uniform_needed_if_drop_ci_low_above": 0.0,
}


def _num(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def _correlation(pairwise_tau: Mapping[str, Mapping | None] | None) -> dict | None:
    if not pairwise_tau:
        return None
    pairs = {k: v for k, v in pairwise_tau.items() if v and k.split("~")[0] == "attention"
             and _num(v.get("mean")) is not None}
    if not pairs:
        return None
    means = {k: _num(v["mean"]) for k, v in pairs.items()}
    agrees = all(m >= TAU_AGREES for m in means.values())  # type: ignore[operator]
    text = ", ".join(f"{k} {means[k]:.3f} (n={pairs[k].get('n')})" for k in pairs)
    return {"pairs": means, "agrees": agrees,
            "evidence": f"mean Kendall tau {text}; agreement needs >= {TAU_AGREES}"}


def layer_verdicts(permutation: Mapping | None, adversarial: Mapping | None,
                   uniform: Mapping | None) -> list[dict]:
    """One dict per layer with the three tests' outcomes and the numbers behind them."""
    layers: dict[int, dict] = {}
    if permutation:
        thr = permutation["change_threshold"]
        for row in permutation["layers"]:
            med = row["median_output_change"]
            if med is None or math.isnan(med):
                continue
            layers.setdefault(row["layer"], {})["permutation"] = {
                "matters": med >= thr, "median_output_change": med,
                "fraction_changed": row["fraction_changed"], "n": permutation["n"],
                "evidence": f"median TVD {med:.3f} under permutation "
                            f"({'>=' if med >= thr else '<'} {thr}), n={permutation['n']}"}
    if adversarial:
        for row in adversarial["layers"]:
            unique = row["fraction_far"] < CRITERIA["adversarial_unique_if_fraction_far_below"]
            layers.setdefault(row["layer"], {})["adversarial"] = {
                "unique": unique, "mean_jsd": row["mean_jsd"], "fraction_far": row["fraction_far"],
                "epsilon_tvd": adversarial["epsilon_tvd"], "n": adversarial["n"],
                "evidence": f"{100 * row['fraction_far']:.0f}% of examples reach JSD >= "
                            f"{adversarial['far_threshold']:.3f} (mean {row['mean_jsd']:.3f}) with "
                            f"output TVD <= {adversarial['epsilon_tvd']}, n={adversarial['n']}"}
    if uniform:
        for row in uniform["layers"]:
            low, high = row["drop_ci95"]
            needed = low > CRITERIA["uniform_needed_if_drop_ci_low_above"]
            layers.setdefault(row["layer"], {})["uniform"] = {
                "needed": needed, "accuracy_drop": row["accuracy_drop"], "drop_ci95": [low, high],
                "n": row["n"],
                "evidence": f"uniform attention: accuracy drop {row['accuracy_drop']:.3f} "
                            f"(95% CI {low:.3f} to {high:.3f}), n={row['n']}"}
    out = []
    for layer in sorted(layers):
        tests = layers[layer]
        votes = [t for t in (tests.get("permutation", {}).get("matters"),
                             tests.get("adversarial", {}).get("unique"),
                             tests.get("uniform", {}).get("needed")) if t is not None]
        verdict = ("supported" if votes and all(votes) else
                   "not supported" if votes and not any(votes) else "mixed")
        out.append({"layer": layer, "verdict": verdict, "supporting": sum(votes),
                    "tests": len(votes), **tests})
    return out


def model_verdict(*, pairwise_tau: Mapping | None = None, permutation: Mapping | None = None,
                  adversarial: Mapping | None = None, uniform: Mapping | None = None) -> dict:
    """The per-model verdict (a dict) from the tests' ``to_json()`` outputs and the explainers'
    ``pairwise_tau``; any part may be missing (the verdict says which were used)."""
    layers = layer_verdicts(permutation, adversarial, uniform)
    correlation = _correlation(pairwise_tau)
    kinds = sorted({row["verdict"] for row in layers})
    if not layers:
        verdict, dependent = "undetermined", False
    elif len(kinds) == 1:
        verdict, dependent = kinds[0], False
    else:
        verdict, dependent = "layer-dependent", True
    by_kind = {k: [row["layer"] for row in layers if row["verdict"] == k] for k in kinds}
    parts = []
    if correlation is not None:
        parts.append("attention agrees with gradient/leave-one-out rankings" if correlation["agrees"]
                     else "attention does not agree with gradient/leave-one-out rankings")
    for k in ("supported", "mixed", "not supported"):
        if k in by_kind:
            parts.append(f"layers {', '.join(map(str, by_kind[k]))}: counterfactual tests "
                         f"{'support' if k == 'supported' else 'partly support' if k == 'mixed' else 'do not support'}"
                         " reading attention as the explanation")
    all_layers = uniform.get("all_layers") if uniform else None
    if all_layers:
        low, high = all_layers["drop_ci95"]
        parts.append(f"uniform attention in every layer costs {all_layers['accuracy_drop']:.3f} accuracy "
                     f"(95% CI {low:.3f} to {high:.3f}, n={all_layers['n']})")
    return {
        "verdict": verdict,
        "layer_dependent": dependent,
        "layers_by_verdict": by_kind,
        "summary": "; ".join(parts) + "." if parts else "no evidence was computed.",
        "correlation": correlation,
        "layers": layers,
        "uniform_all_layers": all_layers,
        "criteria": CRITERIA,
        "used": [name for name, part in (("correlation", correlation), ("permutation", permutation),
                                         ("adversarial", adversarial), ("uniform", uniform)) if part],
    }
