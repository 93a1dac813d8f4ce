"""The probing stage through the pipeline: config validation, cache key, report section, JSON twin."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from common.audit_config import DEFAULT_STAGES, AuditConfig


def test_probing_config_is_validated_against_the_registry():
    with pytest.raises(ValidationError, match="word_order"):
        AuditConfig(stages=["probing"], probing_properties=["syntax"])
    with pytest.raises(ValidationError):
        AuditConfig(probing_folds=1)
    assert "probing" not in DEFAULT_STAGES  # opt-in: it fits ~100 probes per audit
    base = AuditConfig()
    assert base.cache_key("probing") != AuditConfig(probing_folds=3).cache_key("probing")
    assert base.cache_key("triggers") == AuditConfig(probing_folds=3).cache_key("triggers")


def test_probing_stage_writes_section_and_numbers(tiny_bert_dir, tiny_tsv, tmp_path):
    from pipeline.run import AuditRun

    cfg = AuditConfig(stages=["clean_eval", "probing"], eval_examples=30, probing_examples=30,
                      probing_folds=2, noop_examples=4, allow_overlap=True)
    run = AuditRun(tiny_bert_dir, tiny_tsv, cfg, tmp_path / "cache")
    results = run.run_all()
    run.write_report(tmp_path / "out")
    p = results["stages"]["probing"]
    assert p["num_examples"] == 30 and p["folds"] == 2
    assert set(p["properties"]) | set(p["skipped"]) == {"label", "length", "word_order", "negation"}
    label = p["properties"]["label"]
    assert len(label["layers"]) == 3 and {"task", "control", "selectivity"} <= set(label["layers"][0]["cls"])
    assert len(p["noop"]["attention"]["sep"]) == 2
    twin = json.loads((tmp_path / "out" / "report.json").read_text())
    assert twin["stages"]["probing"]["properties"]["label"]["best_layer"] == label["best_layer"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert 'id="probing"' in html and "probe accuracy by layer: label" in html
    assert 'id="hardening"' not in html  # only a hardened model's re-audit carries that section
    # a second run reads the cache
    again = AuditRun(tiny_bert_dir, tiny_tsv, cfg, tmp_path / "cache")
    again.run_all()
    assert again.executed == []
