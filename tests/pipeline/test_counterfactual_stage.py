"""The counterfactual stage on a tiny model: result, verdict, cache key, report section and twin."""

from __future__ import annotations

import json

from pipeline import AuditRun
from tests.pipeline.conftest import small_config


def test_counterfactual_stage_alone_computes_its_own_tau(tiny_bert_dir, tiny_tsv, tmp_path):
    config = small_config(stages=["counterfactual"])
    ticks: list[tuple[str, float]] = []
    run = AuditRun(tiny_bert_dir, tiny_tsv, config, tmp_path / "work",
                   progress=lambda s, f: ticks.append((s, f)))
    c = run.run_stage("counterfactual")
    fr = [f for s, f in ticks if s == "counterfactual"]
    assert fr[0] == 0.0 and fr[-1] == 1.0 and fr == sorted(fr)
    n_eval = len(run.slices()["eval"])
    assert c["permutation"]["n"] == 4 and c["permutation"]["heads_n"] == 2
    assert c["permutation"]["permutations"] == 3
    assert c["adversarial"]["n"] == 2 and c["adversarial"]["steps"] == 3
    assert c["uniform"]["n"] == min(n_eval, config.eval_examples) and c["uniform"]["heads_n"] == 2
    assert c["correlation"]["source"] == "computed on the examples"
    layers = [r["layer"] for r in c["verdict"]["layers"]]
    assert layers == list(range(c["num_layers"]))
    for row in c["verdict"]["layers"]:
        assert {"permutation", "adversarial", "uniform"} <= set(row)
        assert row["adversarial"]["epsilon_tvd"] == 0.01
    assert c["adversarial"]["layers"][0]["max_output_tvd"] <= 0.01
    json.dumps(c, allow_nan=False)  # strict JSON: no NaN leaks into the twin

    paths = run.write_report(tmp_path / "out")
    twin = json.loads(paths["report.json"].read_text())
    html = paths["report.html"].read_text()
    assert twin["stages"]["counterfactual"] == c
    assert twin["summary"]["attention_verdict"]["verdict"] == c["verdict"]["verdict"]
    assert 'id="counterfactual-table"' in html and f'data-verdict="{c["verdict"]["verdict"]}"' in html
    assert html.count("<tr data-layer=") == c["num_layers"]


def test_counterfactual_reads_the_explainers_tau_and_caches_on_its_own_fields(tiny_bert_dir, tiny_tsv, tmp_path):
    config = small_config(stages=["explainers", "counterfactual"], explainers=["attention", "grad_input"])
    run = AuditRun(tiny_bert_dir, tiny_tsv, config, tmp_path / "work")
    results = run.run_all()
    c, e = results["stages"]["counterfactual"], results["stages"]["explainers"]
    assert c["correlation"]["source"] == "explainers"
    assert c["correlation"]["attention~grad_input"] == e["pairwise_tau"]["attention~grad_input"]
    assert c["verdict"]["correlation"]["pairs"]["attention~grad_input"] == e["pairwise_tau"]["attention~grad_input"]["mean"]

    base = config.cache_key("counterfactual")
    assert small_config(stages=["explainers", "counterfactual"], explainers=["attention", "grad_input"],
                        tree_threshold=0.5).cache_key("counterfactual") == base
    assert small_config(stages=["explainers", "counterfactual"], explainers=["attention", "grad_input"],
                        counterfactual_epsilon=0.02).cache_key("counterfactual") != base
    assert small_config(stages=["counterfactual"]).cache_key("counterfactual") != base
    again = AuditRun(tiny_bert_dir, tiny_tsv, config, tmp_path / "work")
    again.run_all()
    assert again.executed == []
