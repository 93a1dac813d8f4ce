"""Token-level explainers behind an explicit registry.

``get_explainer(name, loaded)`` builds one; unknown names raise listing the valid ones.
"""

from __future__ import annotations

from attribution.errors import AttributionInputError
from attribution.explainers.base import Explainer, TokenExplanation
from common import registries

_REGISTRY: dict[str, tuple[str, str]] = {
    "attention": ("attribution.explainers.raw_attention", "RawAttention"),
    "rollout": ("attribution.explainers.rollout", "AttentionRollout"),
    "grad_attention": ("attribution.explainers.grad_attention", "GradientWeightedAttention"),
    "lrp": ("attribution.explainers.lrp", "LRPRelevance"),
    "integrated_gradients": ("attribution.explainers.gradients", "IntegratedGradients"),
    "grad_input": ("attribution.explainers.gradients", "GradientTimesInput"),
    "attattr": ("attribution.explainers.attattr_tokens", "AttAttrTokens"),
}
registries.check_implemented("explainer", _REGISTRY)
EXPLAINERS = registries.EXPLAINERS


def explainer_available(name: str) -> bool:
    """True when explainer ``name``'s module imports in this build (unknown names raise)."""
    import importlib

    if name not in _REGISTRY:
        raise AttributionInputError(f"unknown explainer {name!r}; valid: {', '.join(EXPLAINERS)}")
    try:
        importlib.import_module(_REGISTRY[name][0])
    except ImportError:
        return False
    return True


def get_explainer(name: str, loaded, **options) -> Explainer:
    """Build the explainer registered under ``name`` for a loaded classifier."""
    if name not in _REGISTRY:
        raise AttributionInputError(f"unknown explainer {name!r}; valid: {', '.join(EXPLAINERS)}")
    import importlib

    module, cls = _REGISTRY[name]
    return getattr(importlib.import_module(module), cls)(loaded, **options)


__all__ = ["EXPLAINERS", "Explainer", "TokenExplanation", "explainer_available", "get_explainer"]
