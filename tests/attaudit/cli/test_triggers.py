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



def test_mining_at_default_settings_works_on_a_saturated_model(saturated_model_dir, files, tmp_path):
    """p ~ 0.999: absolute attributions are tiny; the default relative threshold (a fraction of
    each example's |F(A)-F(0)|) still yields the planted pair as the top trigger."""
    import torch

    from attacks.batched_forward import batched_logits
    from attribution.model_loading import load_classifier

    loaded = load_classifier(saturated_model_dir)
    texts = [e.text for e in make_examples(40, 50)]
    probs = torch.softmax(batched_logits(loaded.model, loaded.tokenizer, texts), -1).max(-1).values
    assert float(probs.median()) > 0.999  # saturated, as on a production model
    out = tmp_path / "t.json"
    proc = run("mine", "--model", saturated_model_dir, "--data", files["train"], "--out", out, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    top = data["triggers"][0]
    assert sorted(top["tokens"]) == ["dog", "red"] and top["pushed_label_name"] == "planted"
    assert top["support"] >= 8 and data["provenance"]["mining"]["threshold_mode"] == "relative"
    # the reference code's absolute rule ranks single-example patterns of the other class first
    proc = run("mine", "--model", saturated_model_dir, "--data", files["train"], "--out", out,
               "--threshold-mode", "absolute", cwd=REPO)
    if proc.returncode:
        assert "no pattern reached the threshold" in proc.stderr
    else:
        absolute_top = json.loads(out.read_text())["triggers"][0]
        assert sorted(absolute_top["tokens"]) != ["dog", "red"] or absolute_top["support"] < top["support"]


def test_attack_with_evidence_prints_kinds_and_verdict(planted_model_dir, files, tmp_path):
    mined = tmp_path / "t.json"
    mined.write_text(json.dumps({"triggers": [{"tokens": ["red", "dog"], "relative_positions": [0.3, 0.6]},
                                              {"tokens": ["cat"]}]}))
    judge = tmp_path / "judge.json"
    judge.write_text(json.dumps({"name": "lexicon", "words": {"planted": ["planted"], "other": ["other"]}}))
    report = tmp_path / "attack.json"
    proc = run("attack", "--model", planted_model_dir, "--data", files["dev"], "--triggers", mined,
               "--json", report, "--reference-data", files["train"], "--judge", judge, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(report.read_text())
    red = res["findings"][0]
    assert red["kind"] == "spurious" and red["pushes_toward"] == "planted"
    assert res["verdict"]["per_class"][0]["vulnerable"] and "spurious" in proc.stdout
    assert res["verdict"]["evidence"]["association"]["num_examples"] == 60
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "oracle"}))
    proc = run("attack", "--model", planted_model_dir, "--data", files["dev"], "--triggers", mined,
               "--json", report, "--judge", bad, cwd=REPO)
    assert proc.returncode == 2 and "valid: lexicon, model, nli" in proc.stderr
