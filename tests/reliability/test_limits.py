"""Worker resource limits with real processes: an audit over its time budget, or a worker over
its memory budget, ends ``failed`` with a sentence saying which budget, stores no stage result,
and the worker goes on to the next audit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.cluster import Cluster
from tests.reliability.conftest import REDIS_DB
from tests.reliability.test_crashes import AUDIT, STAGES, Client, _assert_complete

pytestmark = pytest.mark.slow


def _finish(cluster: Cluster, audit_id: str):  # noqa: ANN202
    cluster.wait_for(lambda: cluster.all_finished({audit_id}), 600, f"audit {audit_id} to finish")
    return {a.id: a for a in cluster.audits()}[audit_id]


def test_time_budget_exceeded_fails_cleanly_and_frees_the_worker(tmp_path: Path, pg_url: str, tiny_model: Path, reliability) -> None:
    cluster = Cluster(tmp_path, pg_url, REDIS_DB)
    try:
        cluster.start_api()
        cluster.start_worker("w1")
        client = Client(cluster, tiny_model)
        over = _finish(cluster, client.submit(**AUDIT, time_budget_s=0.001))
        assert over.status == "failed" and "time budget of 0.001 s exceeded during stage clean_eval" in over.error
        assert not any(n for (a, _), n in cluster.stage_counts().items() if a == over.id)
        body = client.http.get(f"/v1/audits/{over.id}").json()
        assert body["status"] == "failed" and body["error"] == over.error
        ok = client.submit(**AUDIT)  # the same single worker takes the next audit
        assert _finish(cluster, ok).status == "succeeded"
        _assert_complete(cluster, {ok}, STAGES)
        reliability.row("limits", budget="time_budget_s=0.001", outcome=over.status, error=over.error[:80],
                        next_audit_on_same_worker="succeeded")
    finally:
        cluster.stop_all()


def test_memory_budget_exceeded_fails_cleanly_and_frees_the_worker(tmp_path: Path, pg_url: str, tiny_model: Path, reliability) -> None:
    cluster = Cluster(tmp_path, pg_url, REDIS_DB, worker_memory_mb=64)  # torch alone is larger
    try:
        cluster.start_api()
        cluster.start_worker("w1")
        client = Client(cluster, tiny_model)
        first, second = client.submit(**AUDIT), client.submit(**AUDIT)
        ends = [_finish(cluster, a) for a in (first, second)]
        for a in ends:
            assert a.status == "failed" and "memory budget of 64 MB exceeded" in a.error, a.error
            assert not any(n for (i, _), n in cluster.stage_counts().items() if i == a.id)
        assert cluster.procs["w1"].poll() is None, "the worker died instead of failing the audit"
        reliability.row("limits", budget="worker_memory_mb=64", outcome=ends[0].status, error=ends[0].error[:80],
                        next_audit_on_same_worker=f"{ends[1].status} (same clear error, not stuck)")
    finally:
        cluster.stop_all()
