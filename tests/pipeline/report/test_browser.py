"""The report opens in headless Chromium: no console errors, no network, selectors redraw."""

from __future__ import annotations

from pipeline.report.html import render_html
from tests.pipeline.report.browser import open_report
from tests.pipeline.report.sample_results import sample_results


def test_full_report_renders_in_chromium(tmp_path):
    results = sample_results()
    page = tmp_path / "report.html"
    page.write_text(render_html(results), encoding="utf-8")
    shot = tmp_path / "report.png"
    got = open_report(page, screenshot=shot)
    assert got["console_errors"] == [] and got["page_errors"] == []
    assert got["requests"] == []
    assert got["sections"] == ["summary", "clean", "attribution", "heads", "triggers", "explainers",
                               "counterfactual", "metadata"]
    assert got["not_run"] == []
    # 3 importance maps + 2 pruning charts + 2 stats maps + tree(s) + bar chart + the live heatmap
    assert got["plots"] >= 9
    exs = results["stages"]["attribution"]["examples"]
    assert got["layers"] == ["0", "1", "2"] and got["heads"] == ["sum", "0", "1", "2", "3"]
    for (ex, _layer, _head), cells in got["heatmap_cells"].items():
        t = len(exs[int(ex)]["tokens"])
        assert cells == t * t
    assert got["visible_trees"] == [1, 1, 1]  # the tree follows the example selector
    v = exs[0]["scores_head_summed"][2][0][0]  # example 0, last layer (default), sum, cell (0, 0)
    assert got["first_tooltip"] == f"[CLS] \u2192 [CLS]: {v:.3f}"
    assert shot.stat().st_size > 20_000
