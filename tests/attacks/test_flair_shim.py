"""TextAttack without flair (transformers 5.x): the import-time stand-in, its clear error when a
flair tagger is really needed, and the real flair winning wherever it is installed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(importlib.util.find_spec("textattack") is None,
                                reason="textattack not installed")

# Runs in a fresh interpreter; with HIDE=1 the stand-in finder goes *first*, as if flair were
# not installed (on transformers 5.x it is not, and the appended finder serves it anyway).
SCRIPT = r"""
import os, sys
from attacks import flair_shim
if os.environ.get("HIDE") == "1":
    sys.meta_path.insert(0, flair_shim._Finder())
from attacks.textattack_offline import import_textattack
ta = import_textattack()
print("stand-in", flair_shim.is_stand_in())
from attacks.baselines import BASELINES
import textattack.attack_recipes as recipes
assert all(hasattr(recipes, c) for c in BASELINES.values())
text = ta.shared.AttackedText("the movie was good")
if flair_shim.is_stand_in():  # (the real flair would download a tagger here)
    try:
        text.pos_of_word_index(1)
    except flair_shim.FlairUnavailable as e:
        print("refused", "flair" in str(e) and "transformers<5" in str(e))
"""


def _run(hide: bool) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HIDE": "1" if hide else "0",
           "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.split("\n")


def test_textattack_imports_and_flair_use_is_refused_with_the_reason():
    out = _run(hide=True)
    assert "stand-in True" in out and "refused True" in out


def test_real_flair_wins_when_installed():
    import importlib.machinery

    if importlib.machinery.PathFinder.find_spec("flair") is None:  # (not our stand-in's spec)
        pytest.skip("flair not installed (transformers 5.x environment)")
    out = _run(hide=False)
    assert "stand-in False" in out


def test_importing_textattack_leaves_the_hosts_loggers_enabled() -> None:
    """TextAttack's import-time dictConfig disables every existing logger; a Celery worker then
    stops logging task outcomes after its first audit. import_textattack keeps them as they were."""
    code = (
        "import logging\n"
        "host = logging.getLogger('celery.app.trace')\n"
        "muted = logging.getLogger('already.muted'); muted.disabled = True\n"
        "from attacks.textattack_offline import import_textattack\n"
        "import_textattack()\n"
        "print(host.disabled, muted.disabled)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[2], check=True)
    assert out.stdout.split()[-2:] == ["False", "True"], out.stdout + out.stderr
