"""Stage registry: name -> module with ``REQUIRES`` (library attributes) and ``run(ctx) -> dict``.

A stage is *available* when every ``module:attribute`` it names in ``REQUIRES`` imports. An
unavailable stage raises ``StageUnavailable`` naming what is missing, when the run is built.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from common.audit_config import STAGE_NAMES
from pipeline.errors import StageUnavailable

STAGE_MODULES: dict[str, str] = {name: f"pipeline.stages.{name}" for name in STAGE_NAMES}


def missing_requirements(name: str, config: Any = None) -> list[str]:
    """The ``module:attribute`` requirements of stage ``name`` (under ``config``) that do not import."""
    module = stage_module(name)
    reqs = list(getattr(module, "REQUIRES", ()))
    if config is not None and hasattr(module, "extra_requirements"):
        reqs += module.extra_requirements(config)
    missing = []
    for req in reqs:
        mod_name, _, attr = req.partition(":")
        try:
            mod = importlib.import_module(mod_name)
            if attr and not hasattr(mod, attr):
                missing.append(req)
        except ImportError:
            missing.append(req)
    return missing


def stage_module(name: str) -> ModuleType:
    if name not in STAGE_MODULES:
        raise StageUnavailable(f"unknown stage {name!r}; valid stages: {', '.join(STAGE_NAMES)}")
    return importlib.import_module(STAGE_MODULES[name])


def check_available(name: str, config: Any = None) -> None:
    """Raise ``StageUnavailable`` when stage ``name``'s library is not in this build."""
    missing = missing_requirements(name, config)
    if missing:
        raise StageUnavailable(
            f"stage {name!r} is not available in this build (missing {', '.join(missing)})"
        )


def available_stages() -> list[str]:
    return [name for name in STAGE_NAMES if not missing_requirements(name)]
