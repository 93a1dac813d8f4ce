"""`attaudit attribute` end to end, as a subprocess (the real console entry point)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "attaudit", "attribute", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)


def test_text_pair_writes_one_object(tiny_bert_dir, tmp_path):
    out = tmp_path / "one.json"
    proc = _cli("--model", str(tiny_bert_dir), "--text", "the movie was good", "--pair",
                "it is fun", "--target", "1", "--method", "riemann-right", "--steps", "5",
                "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    obj = json.loads(out.read_text())
    assert obj["tokens"] == ["[CLS]", "the", "movie", "was", "good", "[SEP]", "it", "is",
                             "fun", "[SEP]"]
    assert (obj["method"], obj["steps"], obj["target"]) == ("riemann-right", 5, 1)
    assert len(obj["scores"]) == 2 and len(obj["scores"][0]) == 2
    assert len(obj["scores"][1][1]) == 10 and len(obj["scores"][1][1][9]) == 10
    assert len(obj["completeness_gap"]) == 2
    assert sum(obj["probabilities"]) == pytest.approx(1.0)
    assert obj["prediction"] in (0, 1)
    assert [p.name for p in tmp_path.iterdir()] == ["one.json"]  # no temp file left


def test_data_file_writes_a_list_with_progress(tiny_bert_dir, tmp_path):
    data = tmp_path / "d.tsv"
    data.write_text("sentence\tlabel\ngood fun\t1\nbad plot , very dull\t0\nok\t1\n")
    out = tmp_path / "many.json"
    proc = _cli("--model", str(tiny_bert_dir), "--data", str(data), "--target", "gold",
                "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    items = json.loads(out.read_text())
    assert [it["target"] for it in items] == [1, 0, 1]
    assert [it["tokens"][1] for it in items] == ["good", "bad", "ok"]
    # the default is the adaptive Gauss-Legendre ladder (5 nodes, 10 where the gap is too large)
    assert all(it["method"] == "gausslegendre" and it["steps"] in (5, 10) for it in items)
    assert all(set(it["nodes"]) <= {5, 10} for it in items)
    assert "100/100%" in proc.stderr  # the tqdm bar reached the end


def test_missing_model_exit_2_as_a_process(tmp_path):
    out = tmp_path / "out.json"
    proc = _cli("--model", "/nonexistent/model", "--text", "hi", "--json", str(out))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "attaudit attribute: error: model directory '/nonexistent/model' not found"]
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--text", "   "], "empty --text"),
        (["--data", "{bad}"], "line 1 is not valid JSON"),
        (["--data", "{missing}"], "not found"),
        (["--text", "good", "--target", "gold"], "has no label"),
        (["--text", "good", "--target", "7"], "out of range"),
        (["--text", "good", "--steps", "0"], "steps must be"),
    ],
)
def test_user_errors_are_one_line_exit_2(tiny_bert_dir, tmp_path, capsys, args, message):
    from attaudit.cli.main import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    args = [a.replace("{bad}", str(bad)).replace("{missing}", str(tmp_path / "no.csv"))
            for a in args]
    out = tmp_path / "out.json"
    code = main(["attribute", "--model", str(tiny_bert_dir), *args, "--json", str(out)])
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert lines[0].startswith("attaudit attribute: error:")
    assert not out.exists()
