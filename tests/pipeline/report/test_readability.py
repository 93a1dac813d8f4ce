"""The report reads right for a newcomer: measured trigger direction, drops in percentage points
written one way, a heatmap that opens on a layer with structure, pruning charts whose lines can be
told apart, slices and sample sizes stated, a hint for unnamed labels."""

from __future__ import annotations

import copy
import re

from pipeline.report.format import pp
from pipeline.report.html import render_html
from pipeline.report.svg import line_chart
from tests.pipeline.report.sample_results import sample_results


def _section(html: str, sid: str) -> str:
    start = html.index(f'<section id="{sid}"')
    return html[start:html.index("</section>", start)]


def test_pp_formatter_writes_a_drop_one_way():
    assert pp(0.683) == "-68.3 pp" and pp(-0.02) == "+2.0 pp" and pp(0.0) == "0.0 pp" and pp(None) == "n/a"


def test_drops_are_signed_percentage_points_everywhere():
    html = render_html(sample_results())
    summary, triggers = _section(html, "summary"), _section(html, "triggers")
    assert '<div class="big">-50.0 pp</div>' in summary  # the card
    assert "75.0% to 25.0% (-50.0 pp)" in summary
    assert "75.0% &rarr; 25.0% (-50.0 pp)" in triggers and "80.0% &rarr; 90.0% (+10.0 pp)" in triggers
    # no drop is written as a bare or bracketed percentage any more
    assert not re.search(r"&minus;\d+\.\d%|\(\d+\.\d%\)", html)


def test_trigger_direction_is_measured_not_the_mining_prediction():
    results = sample_results()
    results["stages"]["triggers"]["triggers"][0]["pushed_label"] = "positive"  # where it was mined
    html = render_html(results)
    table = html[html.index('id="trigger-table"'):]
    table = table[:table.index("</table>")]
    assert "pushes toward" not in _section(html, "triggers")
    assert "flips predictions to" in table and "<td" in table
    assert re.search(r"<td[^>]*>negative \(5 of 5 flips\)</td>", table)
    results["stages"]["triggers"]["triggers"][0]["flipped_to"] = {}
    assert "no prediction flipped" in render_html(results)


def test_heatmap_opens_below_the_top_layer_and_says_why():
    results = sample_results(layers=3)
    ex = results["stages"]["attribution"]["examples"][0]
    for layer in range(3):  # layer 0 carries the most attribution below the top
        for row in ex["heatmap"]["head_summed"][layer]:
            row[:] = [5.0 if layer == 0 else 0.01] * len(row)
    html = _section(render_html(results), "attribution")
    assert '<option value="0" selected>layer 0</option>' in html
    assert '<option value="2">layer 2 (top: [CLS] row only)</option>' in html
    assert "only the [CLS] row can be non-zero" in html
    ex["heatmap"]["head_summed"][1] = [[9.0] * len(r) for r in ex["heatmap"]["head_summed"][1]]
    assert '<option value="1" selected>' in render_html(results)


def test_pruning_charts_have_ticks_and_lines_told_apart():
    html = _section(render_html(sample_results()), "heads")
    charts = re.findall(r'<svg class="plot" role="img"[^>]*aria-label="[^"]*pruning[^"]*".*?</svg>', html)
    assert len(charts) == 4  # global and per-layer, least first and most first
    for chart in charts:
        assert len(re.findall(r'class="ax xtick"', chart)) >= 3
        assert len(re.findall(r'class="tick"', chart)) >= 3 + 5
        lines = re.findall(r'<polyline class="series" points="[^"]*" fill="none" stroke="([^"]+)" '
                           r'stroke-width="2"(?: stroke-dasharray="([^"]+)")?/>', chart)
        assert len(lines) == 3  # attattr, attention, random
        colours, dashes = [c for c, _ in lines], [d for _, d in lines]
        assert len(set(colours)) == 3 and len(set(dashes)) == 3
        for name in ("attattr", "attention", "random"):  # legend
            assert f'class="ax">{name}</text>' in chart


def test_line_chart_styles_stay_distinct_for_eight_series():
    series = [{"name": f"s{i}", "x": [0, 1], "y": [0.5, 0.4]} for i in range(8)]
    svg = line_chart(series, x_label="x", y_label="y", title="t")
    styles = re.findall(r'<polyline[^>]*stroke="([^"]+)" stroke-width="2"(?: stroke-dasharray="([^"]+)")?',
                        svg)
    assert len(set(c for c, _ in styles)) == 8 and len(set(d for _, d in styles)) == 8


def test_slices_and_sample_sizes_are_stated_where_shown():
    html = render_html(sample_results())
    summary = _section(html, "summary")
    assert "on the 40 labelled examples of the evaluation slice" in summary
    assert "Pruning accuracy is on the first 20 examples of the evaluation slice (75.0% there" in summary
    assert "on the first 20 examples of the evaluation slice (at 0 heads pruned" in _section(html, "heads")
    assert "comprehensiveness AOPC 0.345 [0.112, 0.578]" in summary
    assert "on the first 3 examples of the evaluation slice: few, see the interval" in summary
    assert "on the first 3 examples of the evaluation slice. Rows" in _section(html, "attribution")


def test_few_examples_get_intervals_and_a_warning():
    results = sample_results()
    html = render_html(results)
    expl = _section(html, "explainers")
    assert '<p class="warn" data-few="3">These faithfulness scores rest on 3 examples only' in expl
    assert '0.345 <span class="ci">[0.112, 0.578]</span>' in expl
    trig = _section(html, "triggers")
    assert '<p class="warn" data-few="10">These success rates rest on 10 examples only' in trig
    assert '30.0% <span class="ci">[10.8%, 60.3%]</span>' in trig
    many = copy.deepcopy(results)
    many["stages"]["explainers"]["n_examples"] = 40
    many["stages"]["baselines"]["n_examples"] = 200
    for r in many["stages"]["baselines"]["recipes"]:
        r["attacked"] = 150
    few = copy.deepcopy(many)
    few["stages"]["baselines"]["recipes"][1]["attacked"] = 8  # 200 given, 8 correctly classified
    assert '<p class="warn" data-few="8">These success rates rest on 8 examples only' in render_html(few)
    assert 'class="warn"' not in render_html(many)


def test_unnamed_labels_get_a_hint():
    results = sample_results()
    assert 'id="label-hint"' not in render_html(results)
    results["metadata"]["model"].update(labels=["LABEL_0", "LABEL_1"], labels_generic=True)
    hint = _section(render_html(results), "summary")
    assert 'id="label-hint"' in hint and "--label-names NAME0,NAME1</code>" in hint
    assert "LABEL_0, LABEL_1" in hint
