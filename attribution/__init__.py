"""attaudit's attribution library: safe model loading, the attention intervention point, and
AttAttr self-attention attribution (Hao et al., AAAI 2021, https://arxiv.org/abs/2004.11207).

Public names are imported lazily so ``import attribution`` stays cheap (no torch until used).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AttributionInputError": "attribution.errors",
    "ModelLoadError": "attribution.errors",
    "DataError": "attribution.errors",
    "LoadedClassifier": "attribution.model_loading",
    "load_classifier": "attribution.model_loading",
    "pick_device": "attribution.model_loading",
    "Example": "attribution.data",
    "load_examples": "attribution.data",
    "dataset_sha256": "attribution.data",
    "encode": "attribution.data",
    "AttentionIntervention": "attribution.intervention",
    "CapturedAttention": "attribution.intervention",
    "AttentionAttribution": "attribution.attention_attribution",
    "AttributionResult": "attribution.attribution_result",
    "QUADRATURES": "attribution.quadrature",
    "quadrature": "attribution.quadrature",
    "Connection": "attribution.views",
    "head_summed": "attribution.views",
    "top_connections": "attribution.views",
    "head_importance_attattr": "attribution.views",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'attribution' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return __all__
