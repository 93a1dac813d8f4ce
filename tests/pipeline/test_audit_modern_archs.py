"""The whole audit (every available stage, TextAttack baselines included) on a tiny DeBERTa-v3
and a tiny ModernBERT saved with save_pretrained, through the real loader, to a report."""

from __future__ import annotations

import json

import pytest

from tests.pipeline.conftest import small_config
from tests.tiny_modern import build_tiny_modern


@pytest.mark.parametrize("arch", ["deberta-v2", "modernbert"])
def test_full_audit_produces_a_report(arch, tiny_tsv, tmp_path):
    from pipeline import AuditRun

    model_dir = build_tiny_modern(tmp_path / arch, arch=arch, seed=4)
    run = AuditRun(model_dir, tiny_tsv, small_config(), tmp_path / "work")
    results = run.run_all()
    assert run.executed == run.stage_names and set(results["stages"]) == set(run.stage_names)
    assert {"clean_eval", "attribution", "heads", "triggers", "explainers"} <= set(run.stage_names)
    paths = run.write_report(tmp_path / "out")
    twin = json.loads(paths["report.json"].read_text(encoding="utf-8"))
    assert set(twin["stages"]) == set(run.stage_names)
    attr = twin["stages"]["attribution"]
    assert attr["examples"] and all(ex["tokens"] for ex in attr["examples"])
    # LRP's rules are for the BERT family: left out with its reason, the others all ran
    assert set(twin["stages"]["explainers"]["not_applicable"]) == {"lrp"}
    assert "lrp" not in twin["stages"]["explainers"]["explainers"]
    html = paths["report.html"].read_text(encoding="utf-8")
    assert arch in html  # the architecture is named in the report
    assert "lrp: not applicable to this model" in html
