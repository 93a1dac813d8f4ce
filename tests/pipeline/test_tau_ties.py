"""An audit of a model whose leave-one-out importance is all ties: no 'nan' anywhere, the report
says for how many examples Kendall tau is undefined and why."""

from __future__ import annotations

import json
import re

from tests.pipeline.conftest import small_config
from tests.tiny_models import build_constant_model


def test_audit_with_constant_leave_one_out_never_prints_nan(tiny_tsv, tmp_path):
    from pipeline import AuditRun

    model = build_constant_model(tmp_path / "constant")
    cfg = small_config(stages=["clean_eval", "explainers"], explainers=["attention", "grad_input"],
                       examples=3)
    run = AuditRun(model, tiny_tsv, cfg, tmp_path / "work")
    run.run_all()
    paths = run.write_report(tmp_path / "out")
    html = paths["report.html"].read_text(encoding="utf-8")
    raw = paths["report.json"].read_text(encoding="utf-8")
    for text in (html, raw):
        assert not re.search(r"\bnan\b", text, re.IGNORECASE)
    json.loads(raw, parse_constant=lambda c: (_ for _ in ()).throw(AssertionError(c)))
    rows = json.loads(raw)["stages"]["explainers"]["faithfulness"]
    for row in rows:
        assert row["kendall_loo"] is None
        assert row["kendall_loo_detail"]["note"] == "undefined for 3 of 3 examples: constant leave-one-out"
    shown = re.findall(r'class="tau-note"[^>]*>([^<]*)</div>', html)  # under each tau in the tables
    assert shown.count("undefined for 3 of 3 examples: constant leave-one-out") == len(rows)
    assert "undefined for 3 of 3 examples: constant grad_input scores" in shown
