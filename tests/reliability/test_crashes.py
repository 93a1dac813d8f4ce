"""Crash tests with real processes: API, Celery workers, Redis and PostgreSQL, killed by the
tests mid-work. The database is the source of truth: every audit must finish with exactly one
result per stage, none lost, none duplicated."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.reliability.cluster import Cluster
from tests.reliability.conftest import REDIS_DB
from tests.service.hostile.corpus import model_files, write_zip

pytestmark = pytest.mark.slow
WORDS = ["good", "great", "fun", "bad", "boring", "awful"]
STAGES = ["clean_eval"]  # the stages this build runs; a first task also loads torch + the model (~10 s)
AUDIT = {"stages": STAGES}


def dataset(n: int = 48) -> bytes:
    rows = ["sentence\tlabel"] + [f"the movie was very {WORDS[i % 6]} and the acting was {WORDS[(i * 5) % 6]}\t{int(i % 6 < 3)}" for i in range(n)]
    return ("\n".join(rows) + "\n").encode()


class Client:
    def __init__(self, cluster: Cluster, tiny_model: Path, tenant: str = "acme") -> None:
        self.c = cluster
        self.key = cluster.key(tenant)
        self.http = httpx.Client(base_url=cluster.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=60)
        up = write_zip(cluster.tmp / "m.zip", model_files(tiny_model))
        with open(up, "rb") as fh:
            self.model = self.http.post("/v1/models", files={"file": ("m.zip", fh)}).json()["id"]
        r = self.http.post("/v1/datasets", files={"file": ("d.tsv", dataset())})
        assert r.status_code in (200, 201), r.text
        self.dataset = r.json()["id"]

    def submit(self, **opts) -> str:
        r = self.http.post("/v1/audits", json={"model_id": self.model, "dataset_id": self.dataset, **opts})
        assert r.status_code == 202, r.text
        return r.json()["id"]


@pytest.fixture
def cluster(tmp_path: Path, pg_url: str):  # noqa: ANN201
    c = Cluster(tmp_path, pg_url, REDIS_DB)
    yield c
    c.stop_all()


def _assert_complete(cluster: Cluster, ids: set[str], stages: list[str]) -> None:
    audits = {a.id: a for a in cluster.audits() if a.id in ids}
    assert len(audits) == len(ids), "an audit row was lost"
    bad = {i: (a.status, a.error) for i, a in audits.items() if a.status != "succeeded"}
    assert not bad, f"audits not succeeded: {bad}"
    counts = cluster.stage_counts()
    for audit_id in ids:
        got = {st: counts.get((audit_id, st), 0) for st in stages}
        assert got == dict.fromkeys(stages, 1), f"audit {audit_id}: stage results {got}"


def _running_without_result(cluster: Cluster, audit_id: str) -> int | None:
    """The pid holding the audit's lease while its stage has produced no result yet."""
    counts = cluster.stage_counts()
    for a in cluster.audits():
        if a.id == audit_id and a.status == "running" and a.lease_owner and not any(
                counts.get((audit_id, st)) for st in a.stages):
            return int(a.lease_owner.rsplit(":", 1)[1])
    return None


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.parametrize("victim", ["pool_child", "whole_worker"])
def test_worker_sigkill_mid_stage(cluster: Cluster, tiny_model: Path, victim: str, reliability) -> None:
    """SIGKILL the process running a stage: the stage is redelivered (Celery's
    reject_on_worker_lost for a dead pool child; the reconciler for a dead worker host)."""
    cluster.start_api()
    workers = {"w1": cluster.start_worker("w1"), "w2": cluster.start_worker("w2")}
    client = Client(cluster, tiny_model)
    audit = client.submit(**AUDIT)
    pid = cluster.wait_for(lambda: _running_without_result(cluster, audit), 180, "the stage to start")
    owner = next(n for n, p in workers.items() if p.pid == pid or pid in _children(p.pid))
    if victim == "pool_child":
        os.kill(pid, signal.SIGKILL)
    else:
        cluster.kill(owner)
    t_kill = time.time()
    assert not any(cluster.stage_counts().get((audit, st)) for st in STAGES), "killed after the stage finished"
    cluster.wait_for(lambda: cluster.all_finished({audit}), 240, "the audit to finish after the kill")
    _assert_complete(cluster, {audit}, STAGES)
    finisher = {a.id: a for a in cluster.audits()}[audit]
    assert finisher.status == "succeeded"
    reliability.row("crashes", scenario=f"worker SIGKILL mid-stage ({victim.replace('_', ' ')})", audits=1,
                    completed=1, lost=0, duplicated=0, recovered_in_s=round(time.time() - t_kill, 1))


def test_api_killed_and_restarted(cluster: Cluster, tiny_model: Path, reliability) -> None:
    cluster.start_api()
    cluster.start_worker("w1")
    client = Client(cluster, tiny_model)
    ids = {client.submit(**AUDIT) for _ in range(4)}
    cluster.kill("api")  # SIGKILL while the audits are queued / running
    states = {a.status for a in cluster.audits() if a.id in ids}
    assert states & {"queued", "running"}, f"nothing was in flight at the kill: {states}"
    cluster.start_api()
    ids |= {client.submit(**AUDIT) for _ in range(2)}
    cluster.wait_for(lambda: cluster.all_finished(ids), 300, "every audit to finish")
    _assert_complete(cluster, ids, STAGES)
    for audit_id in ids:  # the restarted API serves them all
        assert client.http.get(f"/v1/audits/{audit_id}").json()["status"] == "succeeded"
    reliability.row("crashes", scenario="API SIGKILL + restart with audits in flight", audits=len(ids),
                    completed=len(ids), lost=0, duplicated=0, recovered_in_s="")


def test_redis_flushed_with_audits_queued_and_running(cluster: Cluster, tiny_model: Path, reliability) -> None:
    import redis

    cluster.start_api()
    cluster.start_worker("w1")
    client = Client(cluster, tiny_model)
    ids = {client.submit(**AUDIT) for _ in range(5)}
    cluster.wait_for(lambda: any(a.status == "running" for a in cluster.audits() if a.id in ids), 180, "one audit to run")
    r = redis.Redis(host="127.0.0.1", port=6379, db=cluster.redis_db)
    keys_before = r.dbsize()
    r.flushdb()  # this test's DB only: other helpers share the server
    states = sorted(a.status for a in cluster.audits() if a.id in ids)
    t_flush = time.time()
    cluster.wait_for(lambda: cluster.all_finished(ids), 300, "every audit to finish after the flush")
    _assert_complete(cluster, ids, STAGES)
    reliability.row("crashes", scenario=f"Redis FLUSHDB ({keys_before} keys) with audits {'/'.join(states)}",
                    audits=len(ids), completed=len(ids), lost=0, duplicated=0,
                    recovered_in_s=round(time.time() - t_flush, 1))


def test_postgres_connections_dropped_mid_write(cluster: Cluster, tiny_model: Path, pg_url: str, reliability) -> None:
    """pg_terminate_backend on every connection of the service (API and workers) again and again
    while audits run: each audit is retried to success or fails with a message; no partial rows."""
    import psycopg

    from infra.db.models import StageResult

    cluster.start_api()
    cluster.start_worker("w1")
    client = Client(cluster, tiny_model)
    ids = {client.submit(**AUDIT) for _ in range(3)}
    cluster.wait_for(lambda: any(a.status == "running" for a in cluster.audits() if a.id in ids), 180, "an audit to run")
    dbname = pg_url.rsplit("/", 1)[1]
    killed = 0
    cluster.sessions.kw["bind"].dispose()
    with psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True) as conn:
        t_end = time.time() + 8
        while time.time() < t_end:
            killed += conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,)).fetchone()[0]
            time.sleep(0.25)
    assert killed > 0
    cluster.wait_for(lambda: cluster.all_finished(ids), 900, "every audit to finish")  # retries back off up to 120 s
    audits = {a.id: a for a in cluster.audits() if a.id in ids}
    counts = cluster.stage_counts()
    with cluster.sessions() as s:
        results = list(s.query(StageResult).filter(StageResult.audit_id.in_(ids)))
    for audit_id, a in audits.items():
        per_stage = [counts.get((audit_id, st), 0) for st in a.stages]
        if a.status == "succeeded":
            assert per_stage == [1] * len(a.stages) and a.report_files
        else:
            assert a.status == "failed" and a.error, f"{audit_id}: {a.status} without an error"
            assert all(n <= 1 for n in per_stage)
    assert all(isinstance(r.result, dict) and (r.result.get("result") or {}).get("labels")
               for r in results), "a half-written result"
    ok = sum(a.status == "succeeded" for a in audits.values())
    log = cluster.log("w1")
    interrupted = log.count("heartbeat for") + log.count("Retry in") + log.count("OperationalError")
    reliability.row("crashes", scenario=f"PostgreSQL: {killed} backend connections terminated during 8 s "
                    f"({interrupted} interrupted worker DB operations logged)",
                    audits=len(ids), completed=ok, lost=0, duplicated=0,
                    recovered_in_s=f"{len(ids) - ok} failed cleanly")


def test_celery_poison_audits_fail_without_taking_the_queue_down(cluster: Cluster, tiny_model: Path,
                                                                 tiny_bert_dir: Path, reliability) -> None:
    """Celery side of supervision: a tokenizer panic fails its audit in the same pool child; an audit
    whose stage SIGKILLs its pool child twice (max_stage_attempts=2) is failed with a reason on the
    next delivery, and another tenant's audit submitted after it succeeds."""
    from sqlalchemy import select

    from infra.db.models import Tenant
    from infra.storage import ArtifactStore
    from tests.workers.panicky import build, trigger_rows
    from tests.workers.placing import place_model

    cluster.env["ATTAUDIT_MAX_STAGE_ATTEMPTS"] = "2"
    cluster.start_api()
    cluster.start_worker("w1")
    mallory, bob = Client(cluster, tiny_model, "mallory"), Client(cluster, tiny_model, "bob")
    with cluster.sessions() as s:
        tid = s.scalar(select(Tenant.id).where(Tenant.name == "mallory"))
    store = ArtifactStore(cluster.tmp / "storage")
    panicky = place_model(cluster.sessions, store, tid, build(tiny_bert_dir, cluster.tmp / "panics", "text"))
    r = mallory.http.post("/v1/datasets", files={"file": ("z.tsv", trigger_rows(48))})
    panic_audit = mallory.http.post("/v1/audits", json={"model_id": panicky, "dataset_id": r.json()["id"],
                                                        "stages": STAGES}).json()["id"]
    cluster.wait_for(lambda: cluster.all_finished({panic_audit}), 240, "the panicking audit to finish")
    a = {x.id: x for x in cluster.audits()}[panic_audit]
    assert a.status == "failed" and a.error.startswith("PanicException"), (a.status, a.error)
    pool_child = int(next(iter(_children(cluster.procs["w1"].pid))))

    big = mallory.http.post("/v1/datasets", files={"file": ("big.tsv", dataset(20_000))}).json()["id"]
    poison = mallory.http.post("/v1/audits", json={"model_id": mallory.model, "dataset_id": big,
                                                   "stages": STAGES, "eval_examples": 10_000}).json()["id"]
    fresh = None
    for attempt in (1, 2):
        def started(n: int = attempt) -> int | None:
            a = {x.id: x for x in cluster.audits()}[poison]
            return int(a.lease_owner.rsplit(":", 1)[1]) if a.status == "running" and a.attempts == n and a.lease_owner else None

        pid = cluster.wait_for(started, 240, f"attempt {attempt} of the poison audit's stage")
        if attempt == 1:
            assert pid == pool_child, "the panic replaced the pool child"
        os.kill(pid, signal.SIGKILL)  # as the OOM killer or a native abort would
        if fresh is None:
            fresh = bob.submit(**AUDIT)
    cluster.wait_for(lambda: cluster.all_finished({poison, fresh}), 300, "both audits to finish")
    audits = {x.id: x for x in cluster.audits()}
    assert audits[poison].status == "failed" and "started 2 times" in audits[poison].error, audits[poison].error
    assert audits[fresh].status == "succeeded"
    assert cluster.procs["w1"].poll() is None
    reliability.row("supervision", case="Celery: tokenizer panic at encode, then a stage that SIGKILLs its pool "
                    "child twice (max_stage_attempts=2)", audit="failed (both)", error=audits[poison].error[:70],
                    next_audit_other_tenant="succeeded", worker="pool child kept after the panic; replaced by Celery after each kill")
