"""The exported recipe run by TextAttack itself (no mocks): Attacker in Python and the CLI."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from attacks.recipe_export import export_recipe
from attacks.trigger_attack import evaluate_triggers
from attacks.trigger_file import Trigger, TriggerSet, make_provenance
from tests.attacks.planted import make_examples

pytestmark = pytest.mark.textattack
REPO = Path(__file__).resolve().parents[2]
N = 24

TRIGGERS = [
    Trigger(tokens=["cat"], segments=[0], relative_positions=[0.5]),  # harmless, tried first
    Trigger(tokens=["red", "dog"], segments=[0, 0], relative_positions=[0.2, 0.8]),
]


def expected_outcomes(model_dir, examples):
    """Per example: 'skipped' | ('succeeded', rank, text) | 'failed', from the batched evaluation."""
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tok = AutoTokenizer.from_pretrained(model_dir)
    report = evaluate_triggers(model, tok, examples, TRIGGERS, keep_flipped=None)
    out = []
    for i, ex in enumerate(examples):
        if all(i not in {f["index"] for f in r.flipped} for r in report.results):
            clean_ok = report.results[0].num_correct and _clean_ok(model, tok, ex)
            out.append("failed" if clean_ok else "skipped")
            continue
        r = next(r for r in report.results if i in {f["index"] for f in r.flipped})
        text = next(f["triggered_text"] for f in r.flipped if f["index"] == i)
        out.append(("succeeded", r.rank, text))
    return out


def _clean_ok(model, tok, ex):
    return model(**tok(ex.text, return_tensors="pt")).logits.argmax().item() == ex.label


def _recipe(tmp_path):
    ts = TriggerSet(TRIGGERS, labels=["other", "planted"],
                    provenance=make_provenance(model_sha256="m", dataset_sha256="d"))
    return export_recipe(ts, tmp_path / "recipe.py")


def test_recipe_through_attacker(planted_model_dir, tmp_path):
    from attacks.model_wrapper import DynamicPaddingModelWrapper
    from attacks.textattack_offline import import_textattack

    ta = import_textattack()
    examples = make_examples(N, seed=21)
    expected = expected_outcomes(planted_model_dir, examples)
    spec = importlib.util.spec_from_file_location("exported_recipe", _recipe(tmp_path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = AutoModelForSequenceClassification.from_pretrained(planted_model_dir).eval()
    wrapper = DynamicPaddingModelWrapper(model, AutoTokenizer.from_pretrained(planted_model_dir))
    dataset = ta.datasets.Dataset([(e.text, e.label) for e in examples])
    args = ta.AttackArgs(num_examples=N, silent=True, disable_stdout=True)
    results = ta.Attacker(module.attack(wrapper), dataset, args).attack_dataset()
    assert len(results) == N
    for res, exp in zip(results, expected, strict=True):
        kind = type(res).__name__
        if exp == "skipped":
            assert kind == "SkippedAttackResult"
        elif exp == "failed":
            assert kind == "FailedAttackResult"
        else:
            assert kind == "SuccessfulAttackResult"
            assert res.perturbed_result.attacked_text.text == exp[2]
            assert res.perturbed_result.attacked_text.attack_attrs["trigger_rank"] == exp[1]
            # the clean query, then one query per trigger tried in rank order
            assert res.perturbed_result.num_queries == exp[1] + 2
    assert sum(isinstance(e, tuple) for e in expected) >= N // 3  # the planted pair does flip


def test_recipe_through_textattack_cli(planted_model_dir, tmp_path):
    from attacks.textattack_offline import configure_offline_nltk

    nltk_root = configure_offline_nltk()
    examples = make_examples(N, seed=22)
    expected = expected_outcomes(planted_model_dir, examples)
    data_py = tmp_path / "data.py"
    rows = [(e.text, e.label) for e in examples]
    data_py.write_text(f"import textattack\ndataset = textattack.datasets.Dataset({rows!r})\n")
    summary = tmp_path / "summary.json"
    cmd = [str(Path(sys.executable).parent / "textattack"), "attack",
           "--attack-from-file", f"{_recipe(tmp_path)}^attack",
           "--model-from-huggingface", str(planted_model_dir),
           "--dataset-from-file", str(data_py), "--num-examples", str(N),
           "--disable-stdout", "--log-summary-to-json", str(summary)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
           "NLTK_DATA": str(nltk_root), "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = json.loads(summary.read_text())["Attack Results"]
    n_ok = sum(isinstance(e, tuple) for e in expected)
    assert int(stats["Number of successful attacks:"]) == n_ok
    assert int(stats["Number of skipped attacks:"]) == expected.count("skipped")
    assert int(stats["Number of failed attacks:"]) == expected.count("failed")
    assert n_ok >= N // 3
