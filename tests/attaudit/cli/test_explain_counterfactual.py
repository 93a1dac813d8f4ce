"""`attaudit explain --counterfactual` end to end on a tiny model, and its input errors."""

from __future__ import annotations

import json

import pytest

from attaudit.cli.main import main
from tests.attribution.heads_fixtures import good_sentences


@pytest.fixture(scope="module")
def tsv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "data.tsv"
    rows = good_sentences(12, seed=5)
    path.write_text("sentence\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in rows))
    return path


def test_explain_counterfactual_end_to_end(tiny_bert_dir, tsv, tmp_path, capsys):
    out = tmp_path / "explain.json"
    code = main(["explain", "--model", str(tiny_bert_dir), "--data", str(tsv), "--methods",
                 "attention,grad_input", "--limit", "6", "--counterfactual", "--permutations", "4",
                 "--adversarial-steps", "5", "--adversarial-examples", "3", "--head-examples", "2",
                 "--json", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    c = data["counterfactual"]
    assert c["permutation"]["n"] == 6 and c["permutation"]["permutations"] == 4
    assert c["adversarial"]["n"] == 3 and c["adversarial"]["steps"] == 5
    assert c["uniform"]["n"] == 6 and c["uniform"]["heads_n"] == 2
    assert len(c["permutation"]["layers"]) == c["num_layers"] == 2
    assert c["verdict"]["verdict"] in ("supported", "not supported", "mixed", "layer-dependent")
    # the correlation half comes from this run's own faithfulness tau, not a recomputation
    assert c["correlation"]["source"] == "explainers"
    assert c["correlation"]["attention~grad_input"]["mean"] == pytest.approx(
        data["faithfulness"]["pairwise_tau"]["attention~grad_input"]["mean"], abs=1e-5)
    printed = capsys.readouterr().out
    assert "verdict: " + c["verdict"]["verdict"] in printed and "uniform drop" in printed


@pytest.mark.parametrize("extra, message", [
    (["--epsilon", "0"], "--epsilon must be"),
    (["--permutations", "0"], "--permutations must be at least 1"),
    (["--head-examples", "-1"], "--head-examples must be at least 1"),
])
def test_bad_counterfactual_flags_exit_2(tiny_bert_dir, tsv, tmp_path, extra, message, capsys):
    code = main(["explain", "--model", str(tiny_bert_dir), "--data", str(tsv), "--counterfactual",
                 "--json", str(tmp_path / "o.json"), *extra])
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "o.json").exists()


def test_counterfactual_needs_labels(tiny_bert_dir, tmp_path, capsys):
    data = tmp_path / "unlabelled.tsv"
    data.write_text("sentence\nthe movie was good\na bad film\n")
    code = main(["explain", "--model", str(tiny_bert_dir), "--data", str(data), "--methods", "attention",
                 "--counterfactual", "--json", str(tmp_path / "o.json")])
    assert code == 2 and "--counterfactual needs a gold label" in capsys.readouterr().err
