"""The pipeline end to end on a tiny model: every stage cached and resumable, cancel, errors.

The shared finished audit includes the baselines stage, which runs TextAttack."""

from __future__ import annotations

import json

import pytest

from common.audit_config import STAGE_FIELDS
from pipeline import AuditCancelled, AuditConfig, AuditRun, StageUnavailable
from pipeline.stages import available_stages
from tests.pipeline.conftest import small_config


def _config(**kw) -> AuditConfig:
    return small_config(**kw)



def cache_file(run, stage: str):
    """The CLI's file store entry of ``stage`` (the default ``FileResultStore``)."""
    return run.store.path(stage, run.config.cache_key(stage))

def test_run_all_then_resume_skips_finished_stages(finished_audit, tiny_bert_dir, tiny_tsv):
    run, ticks, first, work = (finished_audit[k] for k in ("run", "ticks", "results", "work"))
    assert run.executed == run.stage_names and run.stage_names
    assert set(first["stages"]) == set(run.stage_names)
    for name in run.stage_names:  # progress reached 0 and 1 for every stage, monotonic
        fr = [f for s, f in ticks if s == name]
        assert fr[0] == 0.0 and fr[-1] == 1.0 and fr == sorted(fr)
    mtimes = {n: cache_file(run, n).stat().st_mtime_ns for n in run.stage_names}

    again = AuditRun(tiny_bert_dir, tiny_tsv, _config(), work)
    second = again.run_all()
    assert again.executed == []  # nothing recomputed
    assert not again.is_loaded  # not even the model was loaded
    assert {n: cache_file(again, n).stat().st_mtime_ns for n in again.stage_names} == mtimes
    assert second["stages"] == first["stages"]

    # a setting only some stages depend on re-runs exactly those stages
    changed = AuditRun(tiny_bert_dir, tiny_tsv, _config(tree_threshold=0.5), work)
    changed.run_all()
    expected = [s for s in changed.stage_names if "tree_threshold" in STAGE_FIELDS[s]]
    assert expected == ["attribution"]
    assert changed.executed == expected
    assert {n: cache_file(changed, n).stat().st_mtime_ns for n in changed.stage_names if n != "attribution"} \
        == {n: t for n, t in mtimes.items() if n != "attribution"}


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
    assert not cache_file(run, "clean_eval").exists()


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


def test_report_files_written_atomically(finished_audit, tmp_path):
    run = finished_audit["run"]
    paths = run.write_report(tmp_path / "out")
    assert {"report.html", "report.json"} <= set(paths)
    doc = json.loads(paths["report.json"].read_text())
    assert doc["metadata"]["model"]["sha256"] == run.model_sha256
    assert doc["metadata"]["dataset"]["slices"]["eval"] == len(run.slices()["eval"])
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_heads_stage_uses_disjoint_slices_and_consistent_curves(finished_audit):
    if "heads" not in available_stages():
        pytest.fail("heads library missing from this build")
    run = finished_audit["run"]
    res = finished_audit["results"]["stages"]
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


def test_explainers_stage_scores_every_token_of_the_shared_sample(finished_audit):
    if "explainers" not in available_stages():
        pytest.fail("explainers library missing from this build")
    run = finished_audit["run"]
    e = finished_audit["results"]["stages"]["explainers"]
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


@pytest.mark.textattack
def test_baselines_run_textattack_recipes_and_the_mined_triggers(finished_audit):
    if "baselines" not in available_stages():
        pytest.fail("attacks.baselines missing from this build")
    b = finished_audit["results"]["stages"]["baselines"]
    run = finished_audit["run"]
    assert b["triggers_included"] == bool(finished_audit["results"]["stages"]["triggers"]["trigger_file"])
    names = [r["name"] for r in b["recipes"]]
    assert names == (["attaudit-triggers"] if b["triggers_included"] else []) + run.config.baselines
    golds = [ex.label for ex in run.slices()["eval"][: run.config.baseline_examples]]
    for r in b["recipes"]:
        assert r["n"] == len(golds) == b["n_examples"]
        assert r["attacked"] + r["skipped"] == r["n"]  # skipped = already misclassified
        assert 0 <= r["succeeded"] <= r["attacked"]
        assert r["success_rate"] == (r["succeeded"] / r["attacked"] if r["attacked"] else 0.0)
    # every recipe sees the same examples, so the same ones are skipped
    assert len({r["skipped"] for r in b["recipes"]}) == 1
