"""Tiny saved classifiers of every supported architecture, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.tiny_models import ARCHS, build_tiny_model

# Tiny models gain nothing from intra-op threads, and on shared cores OpenMP spinning makes
# every small matmul wait for a busy sibling thread.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny_archs")
    return {arch: build_tiny_model(root / arch, arch=arch, seed=3, init_std=0.2) for arch in ARCHS}


@pytest.fixture(scope="session")
def loaded(tiny_dirs):
    """arch -> LoadedClassifier (cached: loading is the slow part of tiny tests)."""
    from attribution.model_loading import load_classifier

    return {arch: load_classifier(path) for arch, path in tiny_dirs.items()}


@pytest.fixture(scope="session")
def tiny3_dir(tmp_path_factory) -> Path:
    """A 3-layer, 3-label BERT with named labels (for target and label-name tests)."""
    return build_tiny_model(
        tmp_path_factory.mktemp("tiny3"), arch="bert", layers=3, num_labels=3, seed=7,
        hidden=24, heads=3, init_std=0.2, id2label={0: "negative", 1: "neutral", 2: "positive"},
    )


@pytest.fixture(scope="session")
def engines(loaded):
    """arch -> AttentionAttribution."""
    from attribution.attention_attribution import AttentionAttribution

    return {arch: AttentionAttribution(lc) for arch, lc in loaded.items()}
