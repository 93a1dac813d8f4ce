"""A tiny model plus a small labelled TSV in its vocabulary, and one finished audit to inspect."""

from __future__ import annotations

import pytest

from tests.tiny_data import FILL, NEG, POS, write_tsv  # noqa: F401 (re-exported for tests)


def small_config(**kw):
    """Budgets small enough for the tiny model; every available stage by default."""
    from common.audit_config import AuditConfig
    from pipeline.stages import available_stages, missing_requirements

    orderings = ["attention", "taylor", "accdiff", "random"]
    if not missing_requirements("heads", AuditConfig(stages=["heads"], heads_orderings=["attattr"])):
        orderings.insert(0, "attattr")
    base = dict(stages=available_stages(), examples=2, eval_examples=20, mining_examples=12,
                importance_examples=10, pruning_examples=20, baseline_examples=3, steps=3,
                triggers=2, trigger_threshold=0.0, seed=0, heads_orderings=orderings,
                counterfactual_examples=4, counterfactual_permutations=3, counterfactual_head_examples=2,
                counterfactual_adversarial_examples=2, counterfactual_steps=3)
    return AuditConfig(**(base | kw))


@pytest.fixture(scope="session")
def finished_audit(tiny_bert_dir, tiny_tsv, tmp_path_factory):
    """One audit run with every available stage (shared by the tests that only read it)."""
    from pipeline import AuditRun

    work = tmp_path_factory.mktemp("audit_work")
    ticks: list[tuple[str, float]] = []
    run = AuditRun(tiny_bert_dir, tiny_tsv, small_config(), work, progress=lambda s, f: ticks.append((s, f)))
    results = run.run_all()
    return {"run": run, "work": work, "ticks": ticks, "results": results}
