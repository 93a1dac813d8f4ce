"""`attaudit probe` and `attaudit harden` through the real entry point (subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "attaudit", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def _tsv(path: Path, n: int = 40) -> Path:
    from tests.attacks.shortcut import clean_examples, write_tsv

    return write_tsv(clean_examples(n, seed=1), path)


def test_probe_writes_layers_and_noop(tiny_bert_dir, tmp_path):
    out = tmp_path / "probe.json"
    proc = _cli("probe", "--model", str(tiny_bert_dir), "--data", str(_tsv(tmp_path / "d.tsv")),
                "--json", str(out), "--examples", "40", "--folds", "2", "--noop-examples", "4",
                "--properties", "label,length")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert set(doc["probing"]["properties"]) == {"label", "length"}
    assert len(doc["probing"]["properties"]["label"]["layers"]) == 3  # embeddings + 2 layers
    assert len(doc["noop"]["attention"]["sep"]) == 2
    assert "label" in proc.stdout and "best layer" in proc.stdout


def test_probe_bad_input_is_exit_2(tiny_bert_dir, tmp_path):
    data = str(_tsv(tmp_path / "d.tsv"))
    proc = _cli("probe", "--model", str(tiny_bert_dir), "--data", data, "--json",
                str(tmp_path / "x.json"), "--properties", "syntax")
    assert proc.returncode == 2 and "unknown property" in proc.stderr and "Traceback" not in proc.stderr
    proc = _cli("probe", "--model", str(tmp_path / "nope"), "--data", data, "--json", str(tmp_path / "x.json"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_harden_bad_input_is_exit_2(tiny_bert_dir, tmp_path):
    data = str(_tsv(tmp_path / "d.tsv"))
    proc = _cli("harden", "--model", str(tiny_bert_dir), "--data", data, "--audit", str(tmp_path),
                "--out", str(tmp_path / "new"))
    assert proc.returncode == 2 and "no report.json" in proc.stderr, proc.stderr
    proc = _cli("harden", "--model", str(tiny_bert_dir), "--data", data, "--audit", str(tmp_path),
                "--out", str(tmp_path / "new"), "--augment-fraction", "2")
    assert proc.returncode == 2 and "--augment-fraction" in proc.stderr, proc.stderr
