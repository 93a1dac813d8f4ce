"""The verdict leads the report; its figures come from the JSON twin; label-bearing triggers are listed apart."""

from __future__ import annotations

import copy

from attacks.trigger_kinds import ClassDrop, TriggerFinding
from attacks.verdict import build_verdict
from pipeline.report.html import render_html
from tests.pipeline.report.sample_results import sample_results
from tests.pipeline.report.test_html import figures, json_numbers


def _finding(text, kind, drops):
    raw = [ClassDrop(label, n, 0.8, 0.8 - d, d, (d - 0.1, min(1.0, d + 0.1)), 0.5, (0.3, 0.7), n // 2)
           for label, n, d in drops]
    return TriggerFinding(text, text.split(), [0] * len(text.split()), kind, 0, "negative", raw, None,
                          {"reason": "test"})


def with_verdict():
    results = copy.deepcopy(sample_results())
    findings = [_finding("bad plot", "label-bearing", [("negative", 20, 0.0), ("positive", 20, 0.5)]),
                _finding("red dog", "spurious", [("negative", 20, 0.0), ("positive", 20, 0.35)])]
    verdict = build_verdict(findings, ["negative", "positive"], evidence={
        "association": {"source": "train.tsv", "num_examples": 100, "min_log_odds": 0.4055, "min_z": 3.0},
        "judges": [{"name": "lexicon", "vader": {"positive": "positive", "negative": "negative"}}]})
    trig = results["stages"]["triggers"]
    trig["verdict"] = verdict
    results["summary"]["verdict"] = verdict
    listed = copy.deepcopy(trig["triggers"][0])
    listed.update(tokens=["awful"], kind="label-bearing", measured_push="negative")
    trig["label_bearing"] = [listed]
    return results


def test_verdict_section_leads_and_its_figures_are_in_the_twin():
    results = with_verdict()
    html = render_html(results)
    assert html.index('id="verdict"') < html.index('id="summary"')
    assert "id='verdict-table'" in html and "id='label-bearing-table'" in html
    assert "red dog" in html and "Vulnerability: inserting" in html
    section = html[html.index('id="verdict"'):html.index('id="summary"')]
    assert "bad plot" not in section  # the label-bearing trigger never enters the verdict
    allowed = json_numbers(results)
    assert [f for f in figures(html) if f not in allowed] == []


def test_no_verdict_no_section():
    assert 'id="verdict"' not in render_html(sample_results())
