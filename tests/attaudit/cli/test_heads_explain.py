"""`attaudit heads` and `attaudit explain` end to end, and their one-line input errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from attaudit.cli.main import main
from tests.attribution.heads_fixtures import good_sentences

ROOT = Path(__file__).resolve().parents[3]


def cli(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "attaudit", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def tsv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "data.tsv"
    rows = good_sentences(24, seed=5)
    path.write_text("sentence\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in rows))
    return path


def test_heads_end_to_end(tiny_bert_dir, tsv, tmp_path):
    out = tmp_path / "heads.json"
    code = main(["heads", "--model", str(tiny_bert_dir), "--data", str(tsv), "--by", "attention,taylor,random",
                 "--held-out", "8", "--json", str(out), "--write-pruned", str(tmp_path / "pruned")])
    assert code == 0
    data = json.loads(out.read_text())
    assert set(data["importance"]["scores"]) == {"attention", "taylor", "random"}
    assert data["evaluation_rows"] == [9, 24]
    curves = data["pruning"]["curves"]
    assert len(curves) == 3 * 2 * 2  # orderings x schedules x directions
    assert data["structural_pruning"]["max_abs_logit_diff"] < 1e-4
    assert (tmp_path / "pruned" / "model.safetensors").is_file()


def test_explain_end_to_end(tiny_bert_dir, tsv, tmp_path):
    out = tmp_path / "explain.json"
    code = main(["explain", "--model", str(tiny_bert_dir), "--data", str(tsv), "--methods",
                 "attention,rollout,grad_input", "--limit", "4", "--merge-wordpieces", "--json", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["faithfulness"]["num_examples"] == 4
    assert sorted(data["faithfulness"]["ranking"]) == ["attention", "grad_input", "rollout"]
    assert len(data["explanations"]["rollout"]) == 4 and "words" in data["explanations"]["rollout"][0]


@pytest.mark.parametrize("content, extra, message", [
    ("sentence\tlabel\n", [], "no rows"),
    ("sentence\tlabel\nthe movie\t0\n", ["--text-column", "review"], "text_column 'review' is not a column"),
    ("sentence\tlabel\nthe movie\tawesome\n", [], "awesome"),
])
@pytest.mark.parametrize("command", ["heads", "explain"])
def test_bad_input_is_one_line_exit_2(tiny_bert_dir, tmp_path, content, extra, message, command, capsys):
    data = tmp_path / "bad.tsv"
    data.write_text(content)
    code = main([command, "--model", str(tiny_bert_dir), "--data", str(data), "--json",
                 str(tmp_path / "o.json"), *extra])
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "o.json").exists()


def test_bad_input_subprocess_has_no_traceback(tiny_bert_dir, tmp_path):
    data = tmp_path / "empty.tsv"
    data.write_text("sentence\tlabel\n")
    res = cli("explain", "--model", tiny_bert_dir, "--data", data, "--json", tmp_path / "o.json")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_unknown_method_lists_valid_ones(tiny_bert_dir, tsv, tmp_path, capsys):
    code = main(["explain", "--model", str(tiny_bert_dir), "--data", str(tsv), "--methods", "shap",
                 "--json", str(tmp_path / "o.json")])
    assert code == 2 and "valid: attention" in capsys.readouterr().err
