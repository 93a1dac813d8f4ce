"""`attaudit audit` and `attaudit demo` as a user runs them (subprocess, real files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def attaudit(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "attaudit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_audit_writes_report_and_one_line_summary(tiny_bert_dir, tiny_tsv, tmp_path):
    stages = ["clean_eval", "attribution"]
    out = tmp_path / "out"
    proc = attaudit("audit", "--model", str(tiny_bert_dir), "--data", str(tiny_tsv), "--out", str(out),
                    "--stages", *stages, "--examples", "2", "--eval-examples", "20", "--steps", "3")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("audit done in ") and "clean accuracy" in lines[0]
    doc = json.loads((out / "report.json").read_text())
    assert lines[0].split("clean accuracy ")[1].split(";")[0].split(" ")[0] == \
        f"{100 * doc['summary']['clean_accuracy']:.1f}%"
    assert set(doc["stages"]) == set(stages)
    assert (out / "report.html").stat().st_size > 1000
    assert "clean_eval" in proc.stderr  # the per-stage progress bars


def test_audit_errors_are_one_line_exit_2(tiny_bert_dir, tiny_tsv, tmp_path, capsys):
    from attaudit.cli.main import main

    cases = [
        ("--model", str(tmp_path / "missing"), "--data", str(tiny_tsv)),
        ("--model", str(tiny_bert_dir), "--data", str(tmp_path / "missing.tsv")),
        ("--model", str(tiny_bert_dir), "--data", str(tiny_tsv), "--stages", "bogus"),
        ("--model", str(tiny_bert_dir), "--data", str(tiny_tsv), "--examples", "0"),
        ("--model", str(tiny_bert_dir), "--data", str(tiny_tsv), "--text-column", "nope"),
    ]
    for args in cases:
        extra = () if "--stages" in args else ("--stages", "clean_eval")
        code = main(["audit", *args, "--out", str(tmp_path / "o"), *extra])
        captured = capsys.readouterr()
        assert code == 2, (args, captured.err)
        err = captured.err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("attaudit audit: error:"), (args, captured.err)
    assert not (tmp_path / "o" / "report.html").exists()


def test_demo_rejects_a_folder_without_sst2(tmp_path, capsys):
    from attaudit.cli.main import main

    assert main(["demo", "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"attaudit demo: error: --data {tmp_path}: expected a folder with train.tsv and dev.tsv"]


def test_every_command_has_help(capsys):
    from attaudit.cli.main import COMMAND_MODULES, main

    assert "attaudit.cli.finetune" in COMMAND_MODULES
    for cmd in ("audit", "demo", "finetune", "attribute", "heads", "explain", "triggers"):
        assert main([cmd, "--help"]) == 0
        assert "usage: attaudit " + cmd in capsys.readouterr().out


def test_unknown_registry_names_are_one_line_with_the_valid_ones(tiny_bert_dir, tiny_tsv, tmp_path, capsys):
    from attaudit.cli.main import main

    code = main(["audit", "--model", str(tiny_bert_dir), "--data", str(tiny_tsv), "--out",
                 str(tmp_path / "o"), "--heads-orderings", "bogus"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "bogus" in err[0] and "attattr" in err[0] and "taylor" in err[0]
