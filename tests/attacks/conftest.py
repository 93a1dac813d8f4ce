"""Fixtures for the attacks tests: planted-shortcut models trained in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.attacks.planted import train_planted_model


@pytest.fixture(scope="session")
def planted_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_planted_model(tmp_path_factory.mktemp("planted0"), seed=0)


@pytest.fixture(scope="session")
def planted_pair_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_planted_model(tmp_path_factory.mktemp("planted_pair"), seed=0, pair_task=True)


@pytest.fixture(scope="session")
def saturated_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planted model trained without label smoothing: probabilities saturate (p ~ 0.999)."""
    return train_planted_model(tmp_path_factory.mktemp("planted_saturated"), seed=0, saturate=True)
