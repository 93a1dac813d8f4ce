"""A model whose config names its classes LABEL_0, LABEL_1: a hint, and `--label-names` to name them
(CLI and AuditConfig), which every stage, the report and dataset label parsing then use."""

from __future__ import annotations

import json

import pytest

from tests.attaudit.cli.test_audit import attaudit


def test_cli_label_names_name_the_classes_everywhere(tiny_bert_dir, tiny_tsv, tmp_path):
    plain = attaudit("audit", "--model", str(tiny_bert_dir), "--data", str(tiny_tsv), "--out",
                     str(tmp_path / "plain"), "--stages", "clean_eval", "--eval-examples", "20")
    assert plain.returncode == 0, plain.stderr
    assert "hint: the model's config does not name its classes (LABEL_0, LABEL_1)" in plain.stderr
    html = (tmp_path / "plain" / "report.html").read_text()
    assert 'id="label-hint"' in html and "--label-names" in html
    assert json.loads((tmp_path / "plain" / "report.json").read_text())["metadata"]["model"]["labels_generic"]

    # the data names its labels; only the named model can read them
    named = tmp_path / "named.tsv"
    rows = tiny_tsv.read_text().splitlines()
    named.write_text("\n".join([rows[0]] + [
        r.rsplit("\t", 1)[0] + "\t" + ("positive" if r.endswith("1") else "negative") for r in rows[1:]]) + "\n")
    out = tmp_path / "out"
    proc = attaudit("audit", "--model", str(tiny_bert_dir), "--data", str(named), "--out", str(out),
                    "--stages", "clean_eval", "--eval-examples", "20", "--label-names", "negative,positive")
    assert proc.returncode == 0, proc.stderr
    assert "hint:" not in proc.stderr
    doc = json.loads((out / "report.json").read_text())
    assert doc["stages"]["clean_eval"]["labels"] == ["negative", "positive"]
    assert [r["label"] for r in doc["stages"]["clean_eval"]["per_class"]] == ["negative", "positive"]
    assert doc["metadata"]["model"]["labels"] == ["negative", "positive"]
    assert doc["metadata"]["model"]["labels_from_config"] == ["LABEL_0", "LABEL_1"]
    html = (out / "report.html").read_text()
    assert 'id="label-hint"' not in html and "<th>pred positive</th>" in html
    # same numbers as the integer-labelled run: naming changes names only
    before = json.loads((tmp_path / "plain" / "report.json").read_text())["stages"]["clean_eval"]
    assert doc["stages"]["clean_eval"]["confusion"] == before["confusion"]


@pytest.mark.parametrize("names, message", [
    ("a,b,c", "--label-names gives 3 names (a, b, c) but the model has 2 output classes (LABEL_0, LABEL_1)"),
    ("a,a", "label names must be distinct"),
    ("solo", "expected comma-separated class names"),
])
def test_bad_label_names_are_one_line_exit_2(tiny_bert_dir, tiny_tsv, tmp_path, capsys, names, message):
    from attaudit.cli.main import main

    code = main(["audit", "--model", str(tiny_bert_dir), "--data", str(tiny_tsv), "--out", str(tmp_path / "o"),
                 "--stages", "clean_eval", "--label-names", names])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("attaudit audit: error:"), err
    assert message in err[0]


def test_audit_config_label_names_validated():
    from pydantic import ValidationError

    from common.audit_config import AuditConfig

    assert AuditConfig(label_names=[" neg ", "pos"]).label_names == ["neg", "pos"]
    assert AuditConfig(label_names=["a", "b"]).cache_key("clean_eval") != AuditConfig().cache_key("clean_eval")
    with pytest.raises(ValidationError):
        AuditConfig(label_names=["a", ""])
