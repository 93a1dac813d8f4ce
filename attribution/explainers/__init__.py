"""Token-level explainers behind an explicit registry.

``get_explainer(name, loaded)`` builds one; unknown names raise listing the valid ones.
"""

from __future__ import annotations

from attribution.errors import AttributionInputError
from attribution.explainers.base import Explainer, TokenExplanation

_REGISTRY: dict[str, tuple[str, str]] = {
    "attention": ("attribution.explainers.raw_attention", "RawAttention"),
    "rollout": ("attribution.explainers.rollout", "AttentionRollout"),
    "grad_attention": ("attribution.explainers.grad_attention", "GradientWeightedAttention"),
    "lrp": ("attribution.explainers.lrp", "LRPRelevance"),
    "integrated_gradients": ("attribution.explainers.gradients", "IntegratedGradients"),
    "grad_input": ("attribution.explainers.gradients", "GradientTimesInput"),
    "attattr": ("attribution.explainers.attattr_tokens", "AttAttrTokens"),
}
EXPLAINERS = tuple(_REGISTRY)


def get_explainer(name: str, loaded, **options) -> Explainer:
    """Build the explainer registered under ``name`` for a loaded classifier."""
    if name not in _REGISTRY:
        raise AttributionInputError(f"unknown explainer {name!r}; valid: {', '.join(EXPLAINERS)}")
    import importlib

    module, cls = _REGISTRY[name]
    return getattr(importlib.import_module(module), cls)(loaded, **options)


__all__ = ["EXPLAINERS", "Explainer", "TokenExplanation", "get_explainer"]
