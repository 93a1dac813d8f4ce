"""Every named choice is declared once: libraries implement exactly the registered names, and
every boundary refuses an unknown name listing the valid ones."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from common import registries
from common.audit_config import AuditConfig


def test_libraries_implement_exactly_the_registered_names() -> None:
    from attacks.baselines import BASELINES
    from attacks.trigger_file import POSITIONS
    from attacks.trigger_mining import RANKINGS
    from attribution.explainers import EXPLAINERS
    from attribution.head_importance import ORDERINGS
    from attribution.quadrature import QUADRATURES
    from pipeline.stages import STAGE_MODULES

    assert set(QUADRATURES) == set(registries.QUADRATURES)
    assert tuple(ORDERINGS) == registries.HEAD_ORDERINGS
    assert set(BASELINES) == set(registries.BASELINES)
    assert tuple(EXPLAINERS) == registries.EXPLAINERS
    assert tuple(POSITIONS) == registries.TRIGGER_POSITIONS
    assert tuple(RANKINGS) == registries.TRIGGER_MINING_RANKINGS
    assert tuple(STAGE_MODULES) == registries.STAGES


def test_check_implemented_catches_drift() -> None:
    with pytest.raises(RuntimeError, match="missing implementations"):
        registries.check_implemented("quadrature", {"gausslegendre": 1})


@pytest.mark.parametrize("field,value,valid", [
    ("explainers", ["bogus"], "integrated_gradients"),
    ("heads_orderings", ["bogus"], "taylor"),
    ("baselines", ["bogus"], "deepwordbug"),
    ("method", "bogus", "gausslegendre"),
    ("stages", ["bogus"], "clean_eval"),
    ("trigger_ranking", "bogus", "damage"),
])
def test_audit_config_refuses_unknown_names_listing_the_valid_ones(field, value, valid) -> None:
    with pytest.raises(ValidationError) as info:
        AuditConfig(**{field: value})
    assert "bogus" in str(info.value) and valid in str(info.value)
