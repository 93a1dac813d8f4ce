"""`attaudit audit --fail-on ... --junit FILE` on the planted-shortcut model: the CI release gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.attacks.planted import make_examples

ROOT = Path(__file__).resolve().parents[3]


def attaudit(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "attaudit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("gate")
    path = d / "data.tsv"
    path.write_text("sentence\tlabel\n" + "".join(f"{e.text}\t{e.label}\n" for e in make_examples(240, 5)))
    judge = d / "judge.json"  # a lexicon judge that knows the label words (none of them is "red" or "dog")
    judge.write_text(json.dumps({"name": "lexicon", "words": {"planted": ["planted"], "other": ["other"]}}))
    return path, judge


def test_fail_on_exits_1_and_junit_has_the_failing_case(planted_model_dir, data, tmp_path):
    path, judge = data
    out, junit = tmp_path / "out", tmp_path / "gate.xml"
    proc = attaudit("audit", "--model", str(planted_model_dir), "--data", str(path), "--out", str(out),
                    "--stages", "clean_eval", "triggers", "--eval-examples", "80", "--steps", "3",
                    "--triggers", "3", "--judge", str(judge),
                    "--fail-on", "vulnerability_drop>0.2,clean_accuracy<0.5", "--junit", str(junit))
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "FAIL  vulnerability_drop" in proc.stdout and "pass  clean_accuracy" in proc.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"vulnerability_drop>0.2", "clean_accuracy<0.5"}
    assert cases["vulnerability_drop>0.2"].find("failure") is not None
    assert cases["clean_accuracy<0.5"].find("failure") is None
    doc = json.loads((out / "report.json").read_text())
    verdict = doc["stages"]["triggers"]["verdict"]
    worst = verdict["per_class"][0]["worst"]  # class "other": the planted pair flips it
    assert sorted(worst["trigger"].split()) == ["dog", "red"] and worst["kind"] == "spurious"
    assert worst["is_vulnerability"] and worst["drop_ci95_pp"][0] > 20
    assert doc["summary"]["verdict"]["headline"] == verdict["headline"]
    assert verdict["evidence"]["judges"][0]["name"] == "lexicon"
    html = (out / "report.html").read_text()
    assert html.index('id="verdict"') < html.index('id="summary"')  # the report leads with the verdict


def test_gate_passes_and_bad_expressions_exit_2(planted_model_dir, data, tmp_path):
    path, _ = data
    out = tmp_path / "out"
    proc = attaudit("audit", "--model", str(planted_model_dir), "--data", str(path), "--out", str(out),
                    "--stages", "clean_eval", "--eval-examples", "40", "--fail-on", "clean_accuracy<0.5")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "pass  clean_accuracy" in proc.stdout
    for expr, message in [("accuracy<0.8", "unknown metric 'accuracy'"),
                          ("vulnerability_drop=>0.2", "cannot read"),
                          ("vulnerability_drop>0.2", "reads stage(s) triggers, not in --stages")]:
        proc = attaudit("audit", "--model", str(planted_model_dir), "--data", str(path), "--out", str(out),
                        "--stages", "clean_eval", "--fail-on", expr)
        assert proc.returncode == 2 and message in proc.stderr, (expr, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1
