"""The HTML is self-contained and every figure it shows comes from the JSON twin."""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser

from pipeline.report.format import FORMATTERS
from pipeline.report.html import render_html
from tests.pipeline.report.sample_results import sample_results

NUMBER = re.compile(r"(?<!section )(?<!p < )(?<![\d.])[-+]?\d+\.\d+(?:%|(?: s(?![a-z]))|(?: pp\b))?")


class _Visible(HTMLParser):
    """Visible text plus <title> tooltips, skipping <script>/<style> and the metadata section."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self._depth_meta: int | None = None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        self._depth += 1
        if tag in ("script", "style"):
            self._skip += 1
        if dict(attrs).get("id") == "metadata":
            self._depth_meta = self._depth
        for k, v in attrs:
            if k == "title" and v:
                self.parts.append(v)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        if self._depth_meta == self._depth:
            self._depth_meta = None
        self._depth -= 1

    def handle_data(self, data):
        if not self._skip and self._depth_meta is None:
            self.parts.append(data)


def figures(html: str) -> list[str]:
    p = _Visible()
    p.feed(html)
    return NUMBER.findall(" ".join(p.parts))


def json_numbers(doc) -> set[str]:
    out: set[str] = set()

    def walk(x):
        if isinstance(x, bool):
            return
        if isinstance(x, (int, float)):
            for f in FORMATTERS:
                out.add(f(x))
            out.add(f"{x}")
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(doc)
    return out


def test_every_figure_in_html_is_in_json_twin():
    results = sample_results()
    html = render_html(results)
    shown = figures(html)
    assert len(shown) > 50  # the heatmaps, curves and tables are all there
    allowed = json_numbers(results)
    missing = sorted({f for f in shown if f not in allowed})
    assert not missing, missing


def test_figure_check_catches_a_number_not_in_json():
    results = sample_results()
    html = render_html(results).replace("77.5%", "77.6%", 1)
    allowed = json_numbers(results)
    assert "77.6%" in [f for f in figures(html) if f not in allowed]


def test_self_contained_no_urls():
    html = render_html(sample_results())
    assert not re.search(r"(src|href)\s*=\s*[\"'](?!#)", html)
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html
    assert "@import" not in html and "url(" not in html


def test_sections_present_and_missing_stage_says_so():
    results = sample_results()
    html = render_html(results)
    for sid in ("summary", "clean", "attribution", "heads", "pruning", "attention-stats", "triggers",
                "trigger-table", "baseline-table", "explainers", "faithfulness-table", "metadata",
                "counterfactual", "counterfactual-table", "counterfactual-verdict", "counterfactual-heads"):
        assert f'id="{sid}"' in html, sid
    assert "data-not-run" not in html
    partial = copy.deepcopy(results)
    for stage in ("heads", "triggers", "baselines", "explainers", "counterfactual"):
        del partial["stages"][stage]
        partial["metadata"]["stages_not_run"][stage] = "not selected"
    partial["summary"] = {"clean_accuracy": 0.775}
    html = render_html(partial)
    for stage in ("heads", "triggers", "baselines", "explainers", "counterfactual"):
        assert f'data-not-run="{stage}"' in html


def test_script_cannot_break_out_of_embedded_json():
    results = sample_results()
    results["stages"]["attribution"]["examples"][0]["text"] = "</script><script>alert(1)</script>"
    html = render_html(results)
    assert html.count("<script") == 2  # the data block and the report script, nothing injected
