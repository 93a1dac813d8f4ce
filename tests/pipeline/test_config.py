import subprocess
import sys

import pytest
from pydantic import ValidationError

from common.audit_config import STAGE_NAMES, AuditConfig
from pipeline.slices import split_indices


def test_unknown_stage_lists_valid_ones():
    with pytest.raises(ValidationError) as info:
        AuditConfig(stages=["clean_eval", "bogus"])
    for name in STAGE_NAMES:
        assert name in str(info.value)


def test_stages_put_in_canonical_order_and_deduplicated():
    cfg = AuditConfig(stages=["explainers", "clean_eval", "explainers"])
    assert cfg.stages == ["clean_eval", "explainers"]


def test_unknown_field_and_ordering_rejected():
    with pytest.raises(ValidationError):
        AuditConfig(exampels=3)
    with pytest.raises(ValidationError, match="attattr"):
        AuditConfig(heads_orderings=["nope"])


def test_cache_key_depends_only_on_stage_relevant_fields():
    base = AuditConfig()
    more_triggers = AuditConfig(triggers=base.triggers + 3)
    assert base.cache_key("heads") == more_triggers.cache_key("heads")
    assert base.cache_key("clean_eval") == more_triggers.cache_key("clean_eval")
    assert base.cache_key("triggers") != more_triggers.cache_key("triggers")
    # the slices feed every stage: a new seed invalidates everything
    reseeded = AuditConfig(seed=1)
    assert all(base.cache_key(s) != reseeded.cache_key(s) for s in STAGE_NAMES)
    with pytest.raises(ValueError, match="valid stages"):
        base.cache_key("nope")


def test_config_import_does_not_import_torch():
    code = "import sys, pipeline as p; p.AuditConfig(); assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("n", [0, 1, 7, 100, 873])
def test_slices_disjoint_and_cover(n):
    s = split_indices(n, mining_fraction=0.3, importance_fraction=0.2, seed=3)
    sets = [set(v) for v in s.values()]
    assert sum(len(x) for x in sets) == n
    assert set().union(*sets) == set(range(n))
    assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    if n == 100:
        assert (len(s["mining"]), len(s["importance"]), len(s["eval"])) == (30, 20, 50)


def test_slices_seeded_and_overlap_on_request():
    a = split_indices(50, mining_fraction=0.3, importance_fraction=0.2, seed=1)
    b = split_indices(50, mining_fraction=0.3, importance_fraction=0.2, seed=1)
    c = split_indices(50, mining_fraction=0.3, importance_fraction=0.2, seed=2)
    assert a == b and a != c
    full = split_indices(5, mining_fraction=0.3, importance_fraction=0.2, seed=1, allow_overlap=True)
    assert all(v == list(range(5)) for v in full.values())


def test_default_stages_are_all_available_in_this_build():
    from common.audit_config import DEFAULT_STAGES
    from pipeline.stages import missing_requirements

    cfg = AuditConfig()
    assert cfg.stages == DEFAULT_STAGES
    assert {s: missing_requirements(s, cfg) for s in DEFAULT_STAGES} == {s: [] for s in DEFAULT_STAGES}
