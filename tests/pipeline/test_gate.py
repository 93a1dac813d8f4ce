"""The --fail-on grammar, the metrics it reads and the JUnit file."""

import xml.etree.ElementTree as ET

import pytest

from pipeline.gate import (
    GateError,
    metrics_from_results,
    parse_checks,
    required_stages,
    run_checks,
    write_junit,
)


def test_grammar():
    checks = parse_checks(" vulnerability_drop > 0.2 , clean_accuracy<80% ,spurious>=1")
    assert [(c.metric, c.op, c.threshold) for c in checks] == [
        ("vulnerability_drop", ">", 0.2), ("clean_accuracy", "<", 0.8), ("spurious", ">=", 1.0)]
    assert required_stages(checks) == {"triggers", "clean_eval"}


@pytest.mark.parametrize(("expr", "message"), [
    ("", "empty check"),
    ("vulnerability_drop>0.2,", "empty check"),
    ("vulnerability_drop=>0.2", "cannot read"),
    ("accuracy<0.8", "unknown metric 'accuracy'; valid: vulnerability_drop"),
    ("clean_accuracy<high", "cannot read"),
])
def test_bad_expressions(expr, message):
    with pytest.raises(GateError, match=message):
        parse_checks(expr)


def test_metrics_checks_and_junit(tmp_path):
    results = {"clean_eval": {"accuracy": 0.91},
               "triggers": {"verdict": {"vulnerability_drop": 0.35, "vulnerable_classes": ["positive"],
                                        "counts": {"spurious": 2, "counter-evidence": 1, "label-bearing": 4}}}}
    m = metrics_from_results(results)
    assert m == {"vulnerability_drop": 0.35, "vulnerabilities": 1.0, "spurious": 2.0,
                 "counter_evidence": 1.0, "label_bearing": 4.0, "clean_accuracy": 0.91}
    rows = run_checks(parse_checks("vulnerability_drop>0.2,clean_accuracy<0.8"), m)
    assert [r["failed"] for r in rows] == [True, False]
    assert "0.35 fails vulnerability_drop>0.2" in rows[0]["message"]
    path = write_junit(tmp_path / "gate.xml", rows, headline="Vulnerability: ...")
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["vulnerability_drop>0.2", "clean_accuracy<0.8"]
    assert cases[0].find("failure") is not None and cases[1].find("failure") is None
    # a metric the audit did not measure fails its check (a gate must not pass by omission)
    rows = run_checks(parse_checks("vulnerability_drop>0.2"), metrics_from_results({}))
    assert rows[0]["failed"] and "not measured" in rows[0]["message"]
