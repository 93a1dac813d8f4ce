"""A real pipeline run's report: every figure in the JSON twin, opens cleanly in Chromium."""

from __future__ import annotations

import json

from tests.pipeline.report.browser import open_report
from tests.pipeline.report.test_html import figures, json_numbers


def test_pipeline_report_twin_and_browser(finished_audit, tmp_path):
    run = finished_audit["run"]
    paths = run.write_report(tmp_path / "out")
    html = paths["report.html"].read_text(encoding="utf-8")
    twin = json.loads(paths["report.json"].read_text(encoding="utf-8"))
    shown = figures(html)
    assert shown, "the report shows no figures"
    allowed = json_numbers(twin)
    assert [f for f in shown if f not in allowed] == []

    got = open_report(paths["report.html"], screenshot=tmp_path / "report.png")
    assert got["console_errors"] == [] and got["page_errors"] == [] and got["requests"] == []
    lead = ["verdict"] if (twin["stages"].get("triggers") or {}).get("verdict") else []
    assert got["sections"] == lead + ["summary", "clean", "attribution", "heads", "triggers", "explainers",
                                      "counterfactual", "metadata"]
    from common.registries import OPT_IN_STAGES

    # every missing stage says so, except an opt-in stage nobody selected (it gets no section)
    not_run = {s for s in twin["metadata"]["stages_not_run"]
               if s not in OPT_IN_STAGES or s in twin["metadata"]["stages_selected"]}
    assert set(got["not_run"]) == not_run
    if "attribution" in twin["stages"]:
        ex = twin["stages"]["attribution"]["examples"]
        for (i, _layer, _head), cells in got["heatmap_cells"].items():
            assert cells == len(ex[int(i)]["heatmap"]["index"]) ** 2
    if "heads" in twin["stages"]:
        n_orderings = len(twin["stages"]["heads"]["orderings"])
        assert got["plots"] >= n_orderings + 2  # importance maps + two pruning charts
