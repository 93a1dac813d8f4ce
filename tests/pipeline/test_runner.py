"""The pipeline end to end on a tiny model: every stage cached and resumable, cancel, errors."""

from __future__ import annotations

import json

import pytest

from attaudit.pipeline import AuditCancelled, AuditConfig, AuditRun, StageUnavailable
from attaudit.pipeline.config import STAGE_FIELDS
from attaudit.pipeline.stages import available_stages, missing_requirements


def _orderings() -> list[str]:
    base = ["attention", "taylor", "accdiff", "random"]
    probe = AuditConfig(stages=["clean_eval"], heads_orderings=["attattr"])
    return (["attattr"] if not missing_requirements("heads", probe) else []) + base


def _config(**kw) -> AuditConfig:
    base = dict(stages=available_stages(), examples=2, eval_examples=20, mining_examples=12,
                importance_examples=10, pruning_examples=20, baseline_examples=3, steps=3,
                triggers=2, seed=0, heads_orderings=_orderings())
    return AuditConfig(**(base | kw))


def test_run_all_then_resume_skips_finished_stages(tiny_bert_dir, tiny_tsv, tmp_path):
    ticks: list[tuple[str, float]] = []
    run = AuditRun(tiny_bert_dir, tiny_tsv, _config(), tmp_path / "work",
                   progress=lambda s, f: ticks.append((s, f)))
    first = run.run_all()
    assert run.executed == run.stage_names and run.stage_names
    assert set(first["stages"]) == set(run.stage_names)
    for name in run.stage_names:  # progress reached 0 and 1 for every stage, monotonic
        fr = [f for s, f in ticks if s == name]
        assert fr[0] == 0.0 and fr[-1] == 1.0 and fr == sorted(fr)
    mtimes = {n: run.cache_path(n).stat().st_mtime_ns for n in run.stage_names}

    again = AuditRun(tiny_bert_dir, tiny_tsv, _config(), tmp_path / "work")
    second = again.run_all()
    assert again.executed == []  # nothing recomputed
    assert again._loaded is None  # not even the model was loaded
    assert {n: again.cache_path(n).stat().st_mtime_ns for n in again.stage_names} == mtimes
    assert second["stages"] == first["stages"]

    # a budget only some stages depend on re-runs exactly those stages
    changed = AuditRun(tiny_bert_dir, tiny_tsv, _config(eval_examples=15), tmp_path / "work")
    changed.run_all()
    expected = [s for s in changed.stage_names if "eval_examples" in STAGE_FIELDS[s]]
    assert "clean_eval" in expected and "attribution" not in expected
    assert changed.executed == expected
    assert changed.results()["stages"]["clean_eval"]["n"] == 15


def test_run_stage_is_idempotent_and_single_stage(tiny_bert_dir, tiny_tsv, tmp_path):
    run = AuditRun(tiny_bert_dir, tiny_tsv, _config(), tmp_path)
    a = run.run_stage("clean_eval")
    b = run.run_stage("clean_eval")
    assert a is b and run.executed == ["clean_eval"]
    fresh = AuditRun(tiny_bert_dir, tiny_tsv, _config(), tmp_path)
    assert fresh.run_stage("clean_eval") == a and fresh.executed == []


def test_clean_eval_numbers_match_a_direct_forward(tiny_bert_dir, tiny_tsv, tmp_path):
    import torch

    from attribution.data import encode

    run = AuditRun(tiny_bert_dir, tiny_tsv, _config(stages=["clean_eval"]), tmp_path)
    res = run.run_stage("clean_eval")
    examples = run.slices()["eval"][:20]
    loaded = run.loaded()
    correct = 0
    per = {0: [0, 0], 1: [0, 0]}
    with torch.no_grad():
        for ex in examples:  # one at a time: no padding, an independent path
            pred = int(loaded.model(**encode(loaded.tokenizer, [ex], loaded.device)).logits.argmax())
            correct += pred == ex.label
            per[ex.label][0] += pred == ex.label
            per[ex.label][1] += 1
    assert res["n"] == 20 and res["accuracy"] == pytest.approx(correct / 20)
    for c in (0, 1):
        assert res["per_class"][c]["accuracy"] == pytest.approx(per[c][0] / per[c][1])
    assert sum(map(sum, res["confusion"])) == 20


def test_cancel_stops_at_a_tick_and_caches_nothing(tiny_bert_dir, tiny_tsv, tmp_path):
    calls = {"n": 0}

    def should_cancel() -> bool:
        calls["n"] += 1
        return calls["n"] > 1  # let the first tick pass, cancel at the next one

    run = AuditRun(tiny_bert_dir, tiny_tsv, _config(), tmp_path, should_cancel=should_cancel)
    with pytest.raises(AuditCancelled):
        run.run_all()
    assert run.executed == []
    assert not run.cache_path("clean_eval").exists()


def test_bad_inputs_are_input_errors(tiny_bert_dir, tiny_tsv, tmp_path):
    with pytest.raises(ValueError, match="model directory not found") as info:
        AuditRun(tmp_path / "nope", tiny_tsv, _config(), tmp_path)
    assert info.value.input_error
    with pytest.raises(ValueError, match="data file not found"):
        AuditRun(tiny_bert_dir, tmp_path / "nope.tsv", _config(), tmp_path)
    missing = [s for s in ("attribution", "triggers", "baselines", "explainers") if s not in available_stages()]
    if missing:
        with pytest.raises(StageUnavailable, match=missing[0]):
            AuditRun(tiny_bert_dir, tiny_tsv, _config(stages=[missing[0]]), tmp_path)


def test_report_files_written_atomically(tiny_bert_dir, tiny_tsv, tmp_path):
    run = AuditRun(tiny_bert_dir, tiny_tsv, _config(), tmp_path / "w")
    run.run_all()
    paths = run.write_report(tmp_path / "out")
    assert {"report.html", "report.json"} <= set(paths)
    doc = json.loads(paths["report.json"].read_text())
    assert doc["metadata"]["model"]["sha256"] == run.model_sha256
    assert doc["metadata"]["dataset"]["slices"]["eval"] == len(run.slices()["eval"])
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_heads_stage_uses_disjoint_slices_and_consistent_curves(tiny_bert_dir, tiny_tsv, tmp_path):
    if "heads" not in available_stages():
        pytest.fail("heads library missing from this build")
    run = AuditRun(tiny_bert_dir, tiny_tsv, _config(stages=["clean_eval", "heads"]), tmp_path)
    res = run.run_all()["stages"]
    h, clean = res["heads"], res["clean_eval"]
    imp_texts = {ex.text for ex in run.slices()["importance"]}
    assert not imp_texts & {ex.text for ex in run.slices()["eval"]}
    assert h["n_importance"] == 10 and h["n_eval"] == 20
    for name, o in h["orderings"].items():
        assert len(o["importance"]) == 2 and len(o["importance"][0]) == 2  # (L, H) of the tiny model
        g = o["pruning"]["global"]
        # nothing pruned = the clean accuracy on the same 20 examples; both directions agree there
        assert g["least_first"][0] == pytest.approx(clean["accuracy"], abs=1e-6), name
        assert g["most_first"][0] == g["least_first"][0]
        assert g["least_first"][-1] == pytest.approx(g["most_first"][-1])  # everything pruned
        assert g["heads_pruned"][0] == 0 and g["heads_pruned"][-1] == 4
    assert set(h["attention_stats"])  # Clark et al. statistics present, (L, H) each
    assert all(len(m) == 2 for m in h["attention_stats"].values())


def test_time_budget_skips_later_stages_and_says_so(tiny_bert_dir, tiny_tsv, tmp_path):
    if "heads" not in available_stages():
        pytest.fail("heads library missing from this build")
    cfg = _config(stages=["clean_eval", "heads"], time_budget_s=1e-6)
    run = AuditRun(tiny_bert_dir, tiny_tsv, cfg, tmp_path)
    res = run.run_all()
    assert run.executed == ["clean_eval"]  # the first stage always runs
    assert res["metadata"]["stages_not_run"]["heads"] == "skipped: time budget"
    html = run.write_report(tmp_path / "out")["report.html"].read_text()
    assert 'data-not-run="heads"' in html and "skipped: time budget" in html


def test_explainers_stage_scores_every_token_of_the_shared_sample(tiny_bert_dir, tiny_tsv, tmp_path):
    if "explainers" not in available_stages():
        pytest.fail("explainers library missing from this build")
    cfg = _config(stages=["explainers"], examples=2)
    run = AuditRun(tiny_bert_dir, tiny_tsv, cfg, tmp_path)
    e = run.run_stage("explainers")
    assert e["n_examples"] == 2 and len(e["examples"]) == 2
    assert sorted(e["ranking"]) == sorted(e["explainers"]) == sorted(r["explainer"] for r in e["faithfulness"])
    sample = run.slices()["eval"][:2]
    for ex, shown in zip(sample, e["examples"], strict=True):
        assert shown["text"] == ex.text  # the same examples the attribution stage shows
        assert set(shown["scores"]) == set(e["explainers"])
        assert all(len(s) == len(shown["tokens"]) for s in shown["scores"].values())
    for row in e["faithfulness"]:
        assert len(row["comprehensiveness_bins"]) == len(e["bins"])
        assert row["aopc_comprehensiveness"] == pytest.approx(
            sum(row["comprehensiveness_bins"]) / len(e["bins"]), abs=1e-5)
