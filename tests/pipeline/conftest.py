"""A tiny model plus a small labelled TSV in its vocabulary, and one finished audit to inspect."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

POS = ["good", "great", "brilliant", "fun", "nice", "best"]
NEG = ["bad", "terrible", "boring", "dull", "awful", "worst"]
FILL = ["the", "movie", "film", "plot", "acting", "story", "was", "is", "really", "quite", "cast", "music"]


def write_tsv(path: Path, n: int = 60, seed: int = 0) -> Path:
    rng = random.Random(seed)
    lines = ["sentence\tlabel"]
    for i in range(n):
        label = i % 2
        words = rng.sample(FILL, 4) + [rng.choice(POS if label else NEG)]
        rng.shuffle(words)
        lines.append(f"{' '.join(words)}\t{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_tsv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tsv(tmp_path_factory.mktemp("data") / "tiny.tsv")


def small_config(**kw):
    """Budgets small enough for the tiny model; every available stage by default."""
    from attaudit.pipeline.config import AuditConfig
    from attaudit.pipeline.stages import available_stages, missing_requirements

    orderings = ["attention", "taylor", "accdiff", "random"]
    if not missing_requirements("heads", AuditConfig(stages=["heads"], heads_orderings=["attattr"])):
        orderings.insert(0, "attattr")
    base = dict(stages=available_stages(), examples=2, eval_examples=20, mining_examples=12,
                importance_examples=10, pruning_examples=20, baseline_examples=3, steps=3,
                triggers=2, trigger_threshold=0.0, seed=0, heads_orderings=orderings)
    return AuditConfig(**(base | kw))


@pytest.fixture(scope="session")
def finished_audit(tiny_bert_dir, tiny_tsv, tmp_path_factory):
    """One audit run with every available stage (shared by the tests that only read it)."""
    from attaudit.pipeline import AuditRun

    work = tmp_path_factory.mktemp("audit_work")
    ticks: list[tuple[str, float]] = []
    run = AuditRun(tiny_bert_dir, tiny_tsv, small_config(), work, progress=lambda s, f: ticks.append((s, f)))
    results = run.run_all()
    return {"run": run, "work": work, "ticks": ticks, "results": results}
