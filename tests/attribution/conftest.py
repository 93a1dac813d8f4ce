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


# name -> (arch, builder options): the DeBERTa-v3 and ModernBERT tiny models every modern-arch
# test runs on, plus the DeBERTa-v2-xlarge style (conv layer, separate positional projections).
MODERN_MODELS = {
    "deberta-v3": ("deberta-v2", {"deberta_variant": "v3"}),
    "deberta-v2": ("deberta-v2", {"deberta_variant": "v2"}),
    "modernbert": ("modernbert", {"pooling": "mean"}),
    "modernbert-cls": ("modernbert", {"pooling": "cls", "layers": 2}),
}


@pytest.fixture(scope="session")
def modern_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.tiny_modern import build_tiny_modern

    root = tmp_path_factory.mktemp("tiny_modern")
    return {name: build_tiny_modern(root / name, arch=arch, seed=5, **opts)
            for name, (arch, opts) in MODERN_MODELS.items()}


@pytest.fixture(scope="session")
def modern_loaded(modern_dirs):
    """name -> LoadedClassifier, loaded through the real loader."""
    from attribution.model_loading import load_classifier

    return {name: load_classifier(path) for name, path in modern_dirs.items()}


@pytest.fixture(scope="session")
def modern_engines(modern_loaded):
    """name -> AttentionAttribution on the DeBERTa / ModernBERT tiny models."""
    from attribution.attention_attribution import AttentionAttribution

    return {name: AttentionAttribution(lc) for name, lc in modern_loaded.items()}
