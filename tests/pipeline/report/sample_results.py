"""A complete, deterministic results document in the pipeline's schema, for renderer tests.

The values are random but shaped exactly like the stages' outputs, so every section renders.
(End-to-end tests render reports of real pipeline runs; this one covers every section at once.)
"""

from __future__ import annotations

import random


def _m(rng: random.Random, *shape: int, lo: float = 0.0, hi: float = 1.0):
    if len(shape) == 1:
        return [round(rng.uniform(lo, hi), 5) for _ in range(shape[0])]
    return [_m(rng, *shape[1:], lo=lo, hi=hi) for _ in range(shape[0])]


def sample_counterfactual(rng: random.Random, layers: int, heads: int) -> dict:
    """The counterfactual stage's document: the tests' JSON and the verdict computed from them."""
    from attribution.counterfactual.verdict import model_verdict

    perm = {"method": "permutation (Jain and Wallace 2019)", "n": 6, "permutations": 10, "change_threshold": 0.05,
            "heads_n": 2, "layers": [
                {"layer": la, "median_output_change": [0.21, 0.012, 0.003][la % 3],
                 "p90_output_change": 0.3, "fraction_changed": [0.833, 0.167, 0.0][la % 3],
                 "mean_max_attention": round(rng.uniform(0.2, 0.9), 5),
                 "kendall_max_attention_vs_change": 0.2, "head_median_output_change": _m(rng, heads)}
                for la in range(layers)],
            "points": {"max_attention": _m(rng, 6, layers), "median_output_change": _m(rng, 6, layers),
                       "prediction": [0, 1, 1, 0, 1, 0]}}
    adv = {"method": "adversarial attention (Jain and Wallace 2019)", "n": 4, "epsilon_tvd": 0.01, "steps": 40,
           "jsd_max": 0.693147, "far_threshold": 0.346574, "layers": [
               {"layer": la, "mean_jsd": [0.04, 0.52, 0.61][la % 3], "median_jsd": 0.5,
                "fraction_far": [0.0, 0.75, 1.0][la % 3], "fraction_prediction_kept": 1.0,
                "max_output_tvd": 0.00912, "head_mean_jsd": _m(rng, heads)} for la in range(layers)]}

    def row(name, layer, head, drop):
        return {"variant": name, "layer": layer, "head": head, "accuracy": round(0.775 - drop, 5),
                "accuracy_drop": drop, "drop_ci95": [round(drop - 0.1, 5), round(drop + 0.12, 5)],
                "agreement_with_model": 0.9, "n": 40}
    uni = {"method": "uniform attention (Wiegreffe and Pinter 2019)", "n": 40, "interval": "Newcombe paired 95%",
           "model_accuracy": 0.775, "heads_n": 2,
           "layers": [row(f"layer {la}", la, None, [0.225, 0.05, 0.0][la % 3]) for la in range(layers)],
           "all_layers": row("all layers", None, None, 0.275),
           "heads": [row(f"layer {la} head {h}", la, h, 0.025 * h) for la in range(layers) for h in range(heads)]}
    tau = {"attention~grad_input": {"mean": 0.125, "std": 0.25, "fraction_significant": 0.5, "n": 3}}
    verdict = model_verdict(pairwise_tau=tau, permutation=perm, adversarial=adv, uniform=uni)
    return {"verdict": verdict, "permutation": perm, "adversarial": adv, "uniform": uni,
            "correlation": {**tau, "source": "explainers"}, "num_layers": layers, "num_heads": heads}


def sample_results(seed: int = 0, layers: int = 3, heads: int = 4) -> dict:
    rng = random.Random(seed)
    labels = ["negative", "positive"]
    texts = ["a good movie", "the plot was dull and boring", "great acting , bad story"]
    examples = []
    for text in texts:
        tokens = ["[CLS]", *text.split(), "[SEP]"]
        t = len(tokens)
        scores = _m(rng, layers, heads, t, t, lo=-0.05, hi=0.2)
        summed = [[[round(sum(scores[la][h][i][j] for h in range(heads)), 5) for j in range(t)]
                   for i in range(t)] for la in range(layers)]
        nodes = [{"id": f"{la}-{p}", "layer": la, "position": p, "token": tokens[p]}
                 for la, p in [(layers - 1, 0), (layers - 2, 1), (layers - 2, 2), (0, 1)]]
        edges = [{"source": "2-0", "target": "1-1", "score": 0.8}, {"source": "2-0", "target": "1-2",
                 "score": 0.5}, {"source": "1-1", "target": "0-1", "score": 0.45}]
        examples.append({
            "text": text, "pair": None, "label": 1, "tokens": tokens, "prediction": 1,
            "probabilities": [0.25, 0.75], "target": 1, "scores": scores, "scores_head_summed": summed,
            "completeness_gap": [0.0001] * layers,
            "top_connections": [{"layer": la, "head": 0, "src": 0, "dst": 1, "src_token": tokens[0],
                                 "dst_token": tokens[1], "score": scores[la][0][0][1]} for la in range(layers)],
            "tree": {"nodes": nodes, "edges": edges} if layers == 3 else None,
        })
    orderings = {}
    for name in ("attattr", "attention", "random"):
        orderings[name] = {"importance": _m(rng, layers, heads), "pruning": {
            "global": {"x": [0.0, 0.5, 1.0], "least_first": _m(rng, 3), "most_first": _m(rng, 3)},
            "per_layer": {"x": list(range(heads + 1)), "least_first": _m(rng, heads + 1),
                          "most_first": _m(rng, heads + 1)}}}
    trig = [{"tokens": ["bad", "plot"], "pushed_label": "negative", "score": 0.41, "support": 7,
             "per_class": [{"label": "negative", "n": 10, "accuracy_before": 0.8, "accuracy_after": 0.9,
                            "drop": -0.1},
                           {"label": "positive", "n": 12, "accuracy_before": 0.75, "accuracy_after": 0.25,
                            "drop": 0.5}],
             "success_rate": 0.3125, "flipped_to": {"negative": 5},
             "examples": [{"before": "a good movie", "after": "a good bad plot movie", "gold": 1,
                           "pred_before": 1, "pred_after": 0}]}]
    return {
        "schema": "attaudit.report/1",
        "metadata": {
            "created": "2026-01-01T00:00:00Z", "versions": {"python": "3.11.2", "attaudit": "0.1.0"},
            "model": {"path": "/models/tiny", "sha256": "ab" * 32, "architecture": "bert",
                      "labels": labels, "num_layers": layers, "num_heads": heads},
            "dataset": {"path": "/data/x.tsv", "sha256": "cd" * 32, "rows": 40,
                        "slices": {"mining": 12, "importance": 8, "eval": 20}},
            "config": {"seed": 0, "examples": 3}, "seed": 0,
            "timings": {"clean_eval": 1.25, "attribution": 3.5},
            "stages_selected": ["clean_eval", "attribution", "heads", "triggers", "baselines", "explainers",
                                "counterfactual"],
            "stages_not_run": {},
        },
        "summary": {"clean_accuracy": 0.775, "clean_n": 40,
                    "worst_trigger": {"trigger": "bad plot", "label": "positive", "accuracy_before": 0.75,
                                      "accuracy_after": 0.25, "drop": 0.5},
                    "top_heads": {"ordering": "attattr", "heads": [{"layer": 1, "head": 2, "score": 0.93}],
                                  "half_pruned": {"accuracy_least_first": 0.7, "accuracy_most_first": 0.45,
                                                  "full_accuracy": 0.75, "n": 20}},
                    "most_faithful": {"explainer": "attattr", "aopc_comprehensiveness": 0.345,
                                      "aopc_comprehensiveness_ci95": [0.112, 0.578], "n": 3}},
        "stages": {
            "clean_eval": {"n": 40, "accuracy": 0.775, "labels": labels, "confusion": [[15, 5], [4, 16]],
                           "per_class": [{"label": "negative", "n": 20, "accuracy": 0.75},
                                         {"label": "positive", "n": 20, "accuracy": 0.8}]},
            "attribution": {"method": "gausslegendre", "steps": 6, "labels": labels, "examples": examples},
            "heads": {"orderings": orderings, "n_importance": 8, "n_eval": 20,
                      "attention_stats": {"[CLS]": _m(rng, layers, heads), "entropy": _m(rng, layers, heads)}},
            "triggers": {"labels": labels, "triggers": trig, "n_mining": 12, "n_eval": 20},
            "baselines": {"labels": labels, "n_examples": 10, "recipes": [
                {"name": "attaudit-triggers", "n": 10, "attacked": 10, "success_rate": 0.3,
                 "success_rate_ci95": [0.10779, 0.60322], "avg_queries": 1.5, "seconds": 0.2},
                {"name": "deepwordbug", "n": 10, "attacked": 10, "success_rate": 0.6,
                 "success_rate_ci95": [0.31267, 0.83182], "avg_queries": 23.4, "seconds": 4.2,
                 "examples": [{"before": "a good movie", "after": "a goud movie", "gold": 1, "pred_before": 1,
                               "pred_after": 0}]}]},
            "explainers": {"removal": "the [MASK] token", "n_examples": 3, "ranking": ["attattr", "rollout"],
                           "pairwise_tau": {"attention~grad_input": {"mean": 0.125, "std": 0.25,
                                                                     "fraction_significant": 0.5, "n": 3}},
                           "faithfulness": [
                {"explainer": "attattr", "aopc_comprehensiveness": 0.345, "aopc_sufficiency": 0.12,
                 "aopc_comprehensiveness_ci95": [0.112, 0.578], "aopc_sufficiency_ci95": [-0.05, 0.29],
                 "kendall_loo": 0.41, "kendall_loo_significant": 0.667},
                {"explainer": "rollout", "aopc_comprehensiveness": 0.21, "aopc_sufficiency": 0.19,
                 "kendall_loo": 0.1, "kendall_loo_significant": None}],
                "examples": [{"text": ex["text"], "tokens": ex["tokens"],
                              "scores": {"attattr": _m(rng, len(ex["tokens"])),
                                         "rollout": _m(rng, len(ex["tokens"]))}} for ex in examples]},
            "counterfactual": sample_counterfactual(rng, layers, heads),
        },
    }
