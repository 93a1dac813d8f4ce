"""Load: 200 concurrent audit submissions against a live API with two Celery workers.
Every audit is persisted once, completes once, with exactly one result per stage; status reads
keep answering under that load (latency percentiles recorded, never asserted)."""

from __future__ import annotations

import asyncio
import re
import statistics
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.reliability.cluster import Cluster
from tests.reliability.conftest import REDIS_DB
from tests.reliability.test_crashes import AUDIT, STAGES, Client, _assert_complete

pytestmark = pytest.mark.slow
N = 200


async def _submit_all(url: str, key: str, body: dict) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=N, max_keepalive_connections=N)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"},
                                 timeout=120, limits=limits) as http:
        return await asyncio.gather(*(http.post("/v1/audits", json=body) for _ in range(N)))


def test_200_concurrent_submissions(tmp_path: Path, pg_url: str, tiny_model: Path, reliability) -> None:
    cluster = Cluster(tmp_path, pg_url, REDIS_DB)
    try:
        cluster.start_api()
        cluster.start_worker("w1")
        cluster.start_worker("w2")
        client = Client(cluster, tiny_model, tenant="load")
        body = {"model_id": client.model, "dataset_id": client.dataset, **AUDIT}
        t0 = time.perf_counter()
        responses = asyncio.run(_submit_all(cluster.url, client.key, body))
        submit_s = time.perf_counter() - t0
        assert [r.status_code for r in responses] == [202] * N, {r.status_code for r in responses}
        ids = [r.json()["id"] for r in responses]
        assert len(set(ids)) == N, "an id was handed out twice"
        assert len({a.id for a in cluster.audits()} & set(ids)) == N, "a submission was not persisted"

        latencies: list[float] = []
        stop = threading.Event()

        def read_status() -> None:  # a client polling status while the workers drain the queue
            with httpx.Client(base_url=cluster.url, headers={"Authorization": f"Bearer {client.key}"}, timeout=60) as http:
                i = 0
                while not stop.is_set():
                    t = time.perf_counter()
                    assert http.get(f"/v1/audits/{ids[i % N]}").status_code == 200
                    latencies.append(time.perf_counter() - t)
                    i += 1
                    stop.wait(0.01)

        readers = [threading.Thread(target=read_status) for _ in range(2)]
        for t in readers:
            t.start()
        try:
            cluster.wait_for(lambda: cluster.all_finished(set(ids)), 600, "all 200 audits to finish", poll=1)
        finally:
            stop.set()
            for t in readers:
                t.join()
        drain_s = time.perf_counter() - t0
        _assert_complete(cluster, set(ids), STAGES)
        outcomes = re.findall(r"succeeded in [0-9.]+s: '([a-z]+)'", cluster.log("w1") + cluster.log("w2"))
        done, stale = outcomes.count("done"), len(outcomes) - outcomes.count("done")
        # Exactly-once is proven on the database above (one result row per stage); the worker
        # logs, which concurrent processes append to, give the delivery figures below.
        assert done >= N * (len(STAGES) + 1), f"{done} stage/report computations for {N} audits"
        # A backlog is not an orphan: the reconciler must not re-send audits still queued.
        assert stale < N // 4, f"{stale} superseded duplicate deliveries"
        q = statistics.quantiles(latencies, n=100)
        reliability.figure("load", "concurrent audit submissions", f"{N} (all 202, {len(set(ids))} distinct ids, {N} rows)")
        reliability.figure("load", "completed / lost / duplicated stage results", f"{N} / 0 / 0")
        reliability.figure("load", "task deliveries", f"{done} computations logged for {N * (len(STAGES) + 1)} stage+report steps, {stale} superseded duplicates dropped")
        reliability.figure("load", "workers", "2 Celery workers (prefork, concurrency 1) on 2 shared CPU cores")
        reliability.figure("load", "submission burst wall time", f"{submit_s:.2f} s")
        reliability.figure("load", "time until every audit succeeded", f"{drain_s:.1f} s")
        reliability.figure("load", "GET /v1/audits/{id} under load", f"{len(latencies)} reads, p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms")
    finally:
        cluster.stop_all()
