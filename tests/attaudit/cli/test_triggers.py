"""`attaudit triggers mine|attack|export` end to end on the planted-shortcut model."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.attacks.planted import make_examples

REPO = Path(__file__).resolve().parents[3]


def run(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "attaudit", "triggers", *map(str, args)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def write_tsv(path, examples):
    path.write_text("sentence\tlabel\n" + "".join(f"{e.text}\t{e.label}\n" for e in examples))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    return {
        "train": write_tsv(d / "train.tsv", make_examples(60, 50)),
        "dev": write_tsv(d / "dev.tsv", make_examples(80, 51)),
        "dir": d,
    }


def test_mine_attack_export(planted_model_dir, files, tmp_path):
    out = tmp_path / "triggers.json"
    proc = run("mine", "--model", planted_model_dir, "--data", files["train"], "--out", out,
               "--validation", files["dev"], "--validation-limit", 40, "--limit", 40,
               "--steps", 4, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    top = data["triggers"][0]
    assert sorted(top["tokens"]) == ["dog", "red"] and top["pushed_label_name"] == "planted"
    assert top["scores"]["damage"] > 0.3  # re-ranked by measured damage on the validation rows
    assert data["provenance"]["model_sha256"] and len(data["provenance"]["dataset_sha256"]) == 64
    assert data["provenance"]["mining"]["rank_by"] == "damage"

    report = tmp_path / "attack.json"
    proc = run("attack", "--model", planted_model_dir, "--data", files["dev"], "--triggers", out,
               "--json", report, "--top-k", 3, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(report.read_text())
    assert res["num_examples"] == 80 and len(res["results"]) == 3
    other = res["results"][0]["per_class"][0]
    assert other["label_name"] == "other" and other["drop"] > 0.7
    assert res["results"][0]["flipped"][0]["triggered_prediction"] == 1
    assert "success" in proc.stdout

    recipe = tmp_path / "recipe.py"
    proc = run("export", "--triggers", out, "--out", recipe, "--top-k", 2, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = recipe.read_text()
    compile(text, str(recipe), "exec")
    assert "def attack(model_wrapper)" in text and "TOP_K = 2" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "--triggers", "missing.json", "--out", "r.py"], "trigger file not found"),
        (["export", "--triggers", "bad.json", "--out", "r.py"], "not valid JSON"),
        (["export", "--triggers", "bad.json", "--out", "nodir/r.py"], "does not exist"),
        (["mine", "--model", "nomodel", "--data", "x.tsv", "--out", "t.json"], "nomodel"),
    ],
)
def test_errors_are_one_line_exit_2(args, message, tmp_path):
    (tmp_path / "bad.json").write_text("{oops")
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "r.py").exists() and not (tmp_path / "t.json").exists()


def test_attack_needs_gold_labels(planted_model_dir, files, tmp_path):
    unlabeled = tmp_path / "u.tsv"
    unlabeled.write_text("sentence\nred dog sat\nthe cat\n")
    trig = tmp_path / "t.json"
    trig.write_text(json.dumps({"triggers": [{"tokens": ["red"]}]}))
    proc = run("attack", "--model", planted_model_dir, "--data", unlabeled, "--triggers", trig,
               "--json", tmp_path / "o.json", cwd=tmp_path)
    assert proc.returncode == 2 and "gold label" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.json").exists()
