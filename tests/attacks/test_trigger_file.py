import json

import pytest

from attacks.trigger_file import (
    Trigger,
    TriggerFileError,
    TriggerSet,
    load_triggers,
    make_provenance,
    save_triggers,
)


def sample_set():
    t1 = Trigger(tokens=["red", "dog"], segments=[0, 0], relative_positions=[0.25, 0.75],
                 pushed_label=1, pushed_label_name="pos", support=7, label_support={"pos": 7},
                 scores={"rank": 0.4, "attribution_mean": 0.1, "damage": None})
    t2 = Trigger(tokens=["not"], segments=[1], relative_positions=[0.0], position="start")
    prov = make_provenance(model_sha256="ab" * 32, dataset_sha256="cd" * 32, mining={"k": 2})
    return TriggerSet(triggers=[t1, t2], labels=["neg", "pos"], provenance=prov)


def test_round_trip(tmp_path):
    path = save_triggers(sample_set(), tmp_path / "t.json")
    data = json.loads(path.read_text())
    assert data["format"] == "attaudit-triggers"
    assert data["provenance"]["attaudit_version"]
    assert data["triggers"][0]["segment"] == 0 and data["triggers"][1]["segment"] == 1
    back = load_triggers(path)
    assert back.triggers == sample_set().triggers
    assert back.labels == ["neg", "pos"]
    assert back.provenance["model_sha256"] == "ab" * 32


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        ("not json", "not valid JSON"),
        ('{"triggers": []}', "empty"),
        ('{"x": 1}', "'triggers' list"),
        ('{"triggers": [{"tokens": ["a b"]}]}', "single words"),
        ('{"triggers": [{"tokens": ["a"], "segments": [2]}]}', "segments must be 0 or 1"),
        ('{"triggers": [{"tokens": ["a"], "relative_positions": [1.5]}]}', r"\[0, 1\]"),
        ('{"triggers": [{"tokens": ["a"], "position": "mid"}]}', "valid: relative, start"),
        ('{"triggers": [{"tokens": ["a", "b"], "segments": [0]}]}', "equal length"),
        ('{"format": "other", "triggers": [{"tokens": ["a"]}]}', "format"),
    ],
)
def test_bad_files_raise_input_errors(tmp_path, payload, match):
    p = tmp_path / "bad.json"
    p.write_text(payload)
    with pytest.raises(TriggerFileError, match=match) as info:
        load_triggers(p)
    assert info.value.input_error is True


def test_missing_file(tmp_path):
    with pytest.raises(TriggerFileError, match="not found"):
        load_triggers(tmp_path / "nope.json")
