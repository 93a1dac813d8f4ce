"""Hardening (pipeline/hardening.py): a planted spurious shortcut is trained away and the
hardened model is re-audited with triggers mined anew from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attacks.augmentation import augment_with_triggers, eligible_triggers
from attacks.trigger_file import Trigger, TriggerFileError
from tests.attacks.shortcut import SHORTCUT, clean_examples, train_shortcut_model, write_tsv

CAT = {"tokens": [SHORTCUT], "segments": [0], "relative_positions": [0.5], "position": "relative",
       "pushed_label": 1, "pushed_label_name": "positive"}
CLEAN_MARGIN = 0.03  # stated margin: hardening may cost at most 3 points of clean accuracy


def test_eligibility_reads_the_kind_field():
    records = [dict(CAT, kind="spurious"), dict(CAT, tokens=["bad"], kind="label-bearing"),
               dict(CAT, tokens=["nice"]), dict(CAT, tokens=["not", "bad"], segments=[0, 0], relative_positions=[0.4, 0.6],
                    kind="counter-evidence")]
    got = eligible_triggers(records)
    assert [t.tokens for t in got.triggers] == [[SHORTCUT], ["not", "bad"]]
    assert got.kinds == ["spurious", "counter-evidence"]
    reasons = {tuple(e["tokens"]): e["reason"] for e in got.excluded}
    assert "no 'kind' field" in reasons[("nice",)] and "may change the true label" in reasons[("bad",)]
    assert [t.tokens for t in got.excluded_triggers] == [["bad"], ["nice"]]
    with pytest.raises(TriggerFileError, match="unknown kind"):
        eligible_triggers([dict(CAT, kind="scary")])


def test_augmentation_keeps_gold_labels_and_spreads_triggers_over_classes():
    rows = clean_examples(200, seed=3)
    trig = Trigger.from_json(CAT)
    mixed = augment_with_triggers(rows, [trig], fraction=0.5, seed=1)
    assert len(mixed) == 300
    with_cat = [r for r in mixed if SHORTCUT in r.text.split()]
    assert len(with_cat) == 100
    for r in with_cat:  # gold label kept: the label follows the sentiment word, not the trigger
        assert r.label == int("good" in r.text.split())
    assert 35 <= sum(r.label for r in with_cat) <= 65  # both classes carry the trigger
    assert augment_with_triggers(rows, [trig], fraction=0.5, seed=1) == mixed  # seeded
    with pytest.raises(TriggerFileError, match="fraction"):
        augment_with_triggers(rows, [trig], fraction=0.0)


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory):
    """Shortcut model, an audit of it on clean data, and the issue-11 kind on the planted trigger."""
    from common.audit_config import AuditConfig
    from pipeline.run import AuditRun

    root = Path(tmp_path_factory.mktemp("harden"))
    model = train_shortcut_model(root / "model", seed=0)
    data = write_tsv(clean_examples(400, seed=5), root / "audit.tsv")
    train = write_tsv(clean_examples(1200, seed=9), root / "train.tsv")
    cfg = AuditConfig(stages=["clean_eval", "triggers"], eval_examples=200, mining_examples=24,
                      importance_examples=24, triggers=3, steps=4, trigger_ranking="attribution",
                      # the hardened model is confident: the absolute 0.02 rule (issue 11 replaces it)
                      # would keep no pattern, and the re-audit uses the audit's own settings
                      trigger_threshold=0.0)
    run = AuditRun(model, data, cfg, root / "audit" / "cache")
    run.run_all()
    run.write_report(root / "audit")
    trig_path = root / "audit" / "triggers.json"
    doc = json.loads(trig_path.read_text()) if trig_path.is_file() else {
        "format": "attaudit-triggers", "version": 1, "labels": ["negative", "positive"], "triggers": []}
    # the audit's own mined triggers keep no kind (not eligible); the planted one is spurious
    doc["triggers"] = [dict(CAT, kind="spurious")] + doc["triggers"]
    trig_path.write_text(json.dumps(doc))
    return root, model, train


def test_hardening_removes_the_planted_shortcut(audited):
    from pipeline.hardening import HardenConfig, harden

    root, model, train = audited
    phases = []
    doc = harden(model, train, root / "audit", root / "hardened",
                 HardenConfig(steps=150, batch_size=32, lr=2e-3, universal_examples=32,
                              universal_iterations=2, universal_candidates=10),
                 progress=lambda phase, f: phases.append(phase))
    cat = next(r for r in doc["old_triggers"] if r["tokens"] == [SHORTCUT])
    assert cat["kind"] == "spurious" and cat["used_for_training"]
    neg = {c["label"]: c for c in cat["before"]["per_class"]}["negative"]
    assert neg["drop"] > 0.8 and neg["drop_low"] > 0.5  # the planted shortcut, before
    after = {c["label"]: c for c in cat["after"]["per_class"]}["negative"]
    assert after["drop"] <= 0.05 and after["drop_low"] <= 0.0  # gone after hardening
    clean = doc["summary"]["clean_accuracy"]
    assert clean["after"]["value"] >= clean["before"]["value"] - CLEAN_MARGIN
    # the re-audit mined new triggers from the NEW model and measured them on both models
    assert doc["new_triggers"], doc["new_triggers_note"]
    assert all("before" in r and "after" in r for r in doc["new_triggers"])
    mined = json.loads((root / "hardened" / "audit" / "triggers.json").read_text())
    assert mined["provenance"]["model_sha256"] == doc["hardened_model"]["sha256"]
    assert doc["hardened_model"]["sha256"] != doc["source_model"]["sha256"]
    # universal trigger searched against each model
    assert {r["searched_on"] for r in doc["universal"]["triggers"]} == {"before", "after"}
    # the new model: safetensors + provenance, no pickle
    out = root / "hardened"
    assert (out / "model.safetensors").is_file() and not list(out.glob("*.bin"))
    prov = json.loads((out / "attaudit_hardening.json").read_text())
    assert prov["source_model_sha256"] == doc["source_model"]["sha256"]
    assert prov["triggers"]["used"][0]["tokens"] == [SHORTCUT]
    assert (out / "audit" / "hardening.json").is_file()
    report = json.loads((out / "audit" / "report.json").read_text())
    assert report["hardening"]["summary"] == doc["summary"]
    html = (out / "audit" / "report.html").read_text()
    assert 'id="hardening"' in html and "Universal trigger" in html
    assert {"finetune", "reaudit", "compare"} <= set(phases)


def test_hardening_refuses_bad_requests(audited, tmp_path):
    from pipeline.hardening import HardenInputError, HardenJob

    root, model, train = audited
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(HardenInputError, match="not empty"):
        HardenJob(model, train, root / "audit", tmp_path / "full")
    with pytest.raises(HardenInputError, match="no report.json"):
        HardenJob(model, train, tmp_path, tmp_path / "new")
    # an audit whose triggers carry no kind: nothing eligible, said clearly
    audit2 = tmp_path / "audit2"
    audit2.mkdir()
    (audit2 / "report.json").write_text((root / "audit" / "report.json").read_text())
    (audit2 / "triggers.json").write_text(json.dumps({"triggers": [CAT]}))
    with pytest.raises(HardenInputError, match="no trigger of kind spurious or counter-evidence"):
        HardenJob(model, train, audit2, tmp_path / "new")


def test_clean_fine_tuning_alone_keeps_the_shortcut(audited):
    """The control for the test above: the same fine-tune without the triggered copies leaves
    the shortcut in place, so it is the augmentation that removes it."""
    import random

    import torch

    from attacks.before_after import trigger_table
    from attribution.model_loading import load_classifier
    from pipeline.finetune import train_classifier

    _, model, _ = audited
    rows = clean_examples(1200, seed=9)
    random.Random(0).shuffle(rows)
    torch.manual_seed(0)
    m = load_classifier(model, device="cpu")
    train_classifier(m.model, m.tokenizer, [(e.text, e.pair, e.label) for e in rows],
                     steps=150, batch_size=32, lr=2e-3)
    row = trigger_table({"clean": (m.model, m.tokenizer)}, clean_examples(200, seed=5),
                        [Trigger.from_json(CAT)], labels=m.labels)[0]
    assert {c["label"]: c for c in row["clean"]["per_class"]}["negative"]["drop"] > 0.5
