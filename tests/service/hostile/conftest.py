"""Fixtures for the hostile-upload corpus: valid tiny models of every architecture."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import reliability_figures
from tests.service.hostile.arch_models import ARCHS, build_arch_model


def pytest_configure(config: pytest.Config) -> None:
    reliability_figures.register(config)


@pytest.fixture(scope="session")
def arch_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("arch_models")
    return {arch: build_arch_model(root / arch, arch) for arch in ARCHS}


@pytest.fixture(scope="session")
def valid_model(arch_models: dict[str, Path]) -> Path:
    return arch_models["bert"]


def tree(root: Path) -> set[str]:
    """Every path under ``root`` (files, dirs, links), relative."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared GLUE files: ``shared/data`` next to the checkout or next to any parent
    (git worktrees live one level deeper than the main checkout)."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "data" / "SST-2").is_dir():
            return parent / "shared" / "data"
    pytest.fail("shared/data not found next to the checkout or any parent directory")
