"""Shared fixtures: tiny saved models and small datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_bert"), arch="bert")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}: clone next to shared/")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_tsv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_data import write_tsv

    return write_tsv(tmp_path_factory.mktemp("data") / "tiny.tsv")


@pytest.fixture(scope="session")
def planted_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model trained in seconds with a planted word-pair shortcut (tests/attacks/planted.py)."""
    from tests.attacks.planted import train_planted_model

    return train_planted_model(tmp_path_factory.mktemp("planted0"), seed=0)


@pytest.fixture(scope="session")
def planted_pair_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.attacks.planted import train_planted_model

    return train_planted_model(tmp_path_factory.mktemp("planted_pair"), seed=0, pair_task=True)


@pytest.fixture(scope="session")
def saturated_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planted model trained without label smoothing: probabilities saturate (p ~ 0.999)."""
    from tests.attacks.planted import train_planted_model

    return train_planted_model(tmp_path_factory.mktemp("planted_saturated"), seed=0, saturate=True)
