"""The exported recipe run by TextAttack itself (no mocks): Attacker in Python and the CLI."""

import importlib.util
import json
import os
import re
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


def _clean_user_env(home: Path) -> dict[str, str]:
    """A fresh user's shell, offline: no NLTK_DATA, a new HOME (no ~/nltk_data, no TextAttack cache),
    every HTTP(S) request sent to a closed local port. PYTHONPATH only puts this checkout first, as
    the editable install does for a user."""
    dead = "http://127.0.0.1:9"
    return {"PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin", "HOME": str(home),
            "PYTHONPATH": str(REPO), "http_proxy": dead, "https_proxy": dead, "HTTP_PROXY": dead,
            "HTTPS_PROXY": dead, "no_proxy": "", "NO_PROXY": "", "OMP_NUM_THREADS": "1",
            "TOKENIZERS_PARALLELISM": "false", "LANG": "C.UTF-8"}


def _summary_table(stdout: str) -> dict[str, str]:
    """TextAttack's printed '| Number of successful attacks: | 3 |' rows."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].endswith(":"):
            rows[cells[0]] = cells[1]
    return rows


def test_setup_step_writes_nltk_data_where_nltk_looks_by_default(tmp_path):
    """`python -m attacks.textattack_offline --prefix P` writes P/share/nltk_data, and a fresh
    interpreter's default nltk.data.path (no NLTK_DATA) contains <sys.prefix>/share/nltk_data."""
    from attacks.textattack_offline import STOPWORDS, main

    assert main(["--prefix", str(tmp_path)]) == 0
    words = (tmp_path / "share/nltk_data/corpora/stopwords/english").read_text().split()
    assert words == STOPWORDS and len(words) == 179
    probe = "import json, nltk, sys; print(json.dumps([sys.prefix, nltk.data.path]))"
    env = {k: v for k, v in _clean_user_env(tmp_path).items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path,
                         capture_output=True, text=True, check=True, timeout=120).stdout
    prefix, paths = json.loads(out)
    assert os.path.join(prefix, "share", "nltk_data") in paths


def test_recipe_through_textattack_cli(planted_model_dir, tmp_path):
    """The README's command, as written, in a clean offline environment from another directory.

    The setup step (`python -m attacks.textattack_offline`, run by scripts/setup.sh) is run first,
    as `make setup` does; then TextAttack's own CLI attacks TextAttack's default 10 examples and its
    printed summary must equal what the batched evaluation predicts for the same examples."""
    setup = subprocess.run([sys.executable, "-m", "attacks.textattack_offline"],
                           env=_clean_user_env(tmp_path / "setup_home"), cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    assert setup.returncode == 0, setup.stderr[-2000:]
    n = 10  # TextAttack's default --num-examples
    examples = make_examples(n, seed=22)
    expected = expected_outcomes(planted_model_dir, examples)
    user_dir = tmp_path / "elsewhere"
    user_dir.mkdir()
    data_py = user_dir / "DATA.py"
    rows = [(e.text, e.label) for e in examples]
    data_py.write_text(f"import textattack\ndataset = textattack.datasets.Dataset({rows!r})\n")
    recipe = _recipe(tmp_path)
    cmd = ["textattack", "attack", "--attack-from-file", f"{recipe}^attack",
           "--model-from-huggingface", str(planted_model_dir), "--dataset-from-file", "DATA.py"]
    env = _clean_user_env(tmp_path / "home")
    assert "NLTK_DATA" not in env
    proc = subprocess.run(cmd, cwd=user_dir, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Resource 'stopwords' not found" not in proc.stderr
    stats = _summary_table(proc.stdout)
    n_ok = sum(isinstance(e, tuple) for e in expected)
    assert stats["Number of successful attacks:"] == str(n_ok), proc.stdout[-3000:]
    assert stats["Number of skipped attacks:"] == str(expected.count("skipped"))
    assert stats["Number of failed attacks:"] == str(expected.count("failed"))
    assert n_ok >= n // 3
    plain = re.sub(r"\[\[|\]\]", "", proc.stdout)  # TextAttack marks inserted words [[so]]
    for exp in expected:  # and prints each successful perturbed text
        if isinstance(exp, tuple):
            assert exp[2] in plain, plain[:3000]


def test_transformation_on_two_columns_matches_insertion():
    from collections import OrderedDict

    from attacks.textattack_offline import import_textattack
    from attacks.trigger_insertion import insert_into_texts
    from attacks.trigger_transformation import TriggerInsertion

    ta = import_textattack()
    trig = Trigger(tokens=["red", "dog"], segments=[0, 1], relative_positions=[0.0, 1.0])
    text = ta.shared.AttackedText(OrderedDict(premise="the cat sat .", hypothesis="a mat ."))
    (out,) = TriggerInsertion([trig])(text)
    expected = insert_into_texts("the cat sat .", "a mat .", trig)
    assert tuple(out._text_input.values()) == expected == ("red the cat sat .", "a mat . dog")
    assert {out.words[i] for i in out.attack_attrs["modified_indices"]} == {"red", "dog"}
