"""Storage on SQLite and PostgreSQL: migrations, hashed keys, constraints, leases, reconciler."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, update
from sqlalchemy.exc import IntegrityError

from common.hashing import model_dir_sha256 as tree_sha256
from infra.db.migrate import current, upgrade
from infra.db.models import (
    ApiKey,
    Audit,
    DatasetRow,
    ModelRow,
    StageResult,
    Tenant,
    new_id,
    utcnow,
)
from infra.db.session import get_engine, session_factory
from infra.settings import Settings
from infra.storage import ArtifactStore
from service.auth import create_key, hash_key, tenant_for_key
from workers.context import WorkerContext
from workers.lease import claim
from workers.reconciler import find_orphans, reconcile, take_over

TABLES = {"tenants", "api_keys", "models", "datasets", "audits", "stage_results", "triggers", "workers"}


def _ctx(tmp_path: Path, url: str, owner: str = "host:1") -> WorkerContext:
    settings = Settings(data_dir=tmp_path, database_url=url, lease_seconds=30,
                        queued_grace_seconds=60)
    ctx = WorkerContext(settings, session_factory(url), ArtifactStore(tmp_path / "storage"))
    ctx.owner = lambda: owner  # type: ignore[method-assign]  # simulate distinct workers
    return ctx


def _audit(session, status: str = "queued", **kw) -> Audit:  # noqa: ANN001
    tenant = Tenant(name=f"t-{new_id()[:6]}")
    session.add(tenant)
    session.flush()
    model = ModelRow(tenant_id=tenant.id, sha256="a" * 64, architecture="bert", labels=["n", "p"],
                     num_parameters=1, num_layers=2, num_heads=2, filename="m.zip")
    ds = DatasetRow(tenant_id=tenant.id, sha256="b" * 64, content_key="c" * 64, format="tsv",
                    filename="d.tsv", text_column="sentence", rows=2, label_counts={"n": 1, "p": 1})
    session.add_all([model, ds])
    session.flush()
    audit = Audit(tenant_id=tenant.id, model_id=model.id, dataset_id=ds.id, config={},
                  stages=["clean_eval", "attribution"], status=status, report_files={}, **kw)
    session.add(audit)
    session.commit()
    return audit


def test_migrations_create_every_table(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)  # idempotent
    assert current(db_url) == "0003"
    assert TABLES <= set(inspect(get_engine(db_url)).get_table_names())


def test_keys_are_stored_hashed(db_url: str) -> None:
    upgrade(db_url)
    with session_factory(db_url)() as s:
        key = create_key(s, "acme")
        key2 = create_key(s, "acme")
        rows = s.scalars(select(ApiKey)).all()
        assert len(rows) == 2 and len({r.tenant_id for r in rows}) == 1  # same tenant reused
        for r in rows:
            assert key not in (r.key_hash, r.prefix) and len(r.key_hash) == 64
        assert {r.key_hash for r in rows} == {hash_key(key), hash_key(key2)}
        assert tenant_for_key(s, key).name == "acme"
        assert tenant_for_key(s, key + "x") is None
        s.execute(update(ApiKey).where(ApiKey.key_hash == hash_key(key)).values(revoked_at=utcnow()))
        s.commit()
        assert tenant_for_key(s, key) is None and tenant_for_key(s, key2) is not None


def test_unique_constraints(db_url: str) -> None:
    upgrade(db_url)
    with session_factory(db_url)() as s:
        audit = _audit(s)
        dup = ModelRow(tenant_id=audit.tenant_id, sha256="a" * 64, architecture="bert", labels=[],
                       num_parameters=1, num_layers=1, num_heads=1, filename="x")
        s.add(dup)
        with pytest.raises(IntegrityError):
            s.commit()
        s.rollback()
        s.add(StageResult(audit_id=audit.id, stage="clean_eval", result={"a": 1}, duration_s=0.1))
        s.commit()
        s.add(StageResult(audit_id=audit.id, stage="clean_eval", result={"a": 2}, duration_s=0.1))
        with pytest.raises(IntegrityError):
            s.commit()


def test_lease_is_exclusive_until_it_lapses(tmp_path: Path, db_url: str) -> None:
    upgrade(db_url)
    a, b = _ctx(tmp_path, db_url, "host:1"), _ctx(tmp_path, db_url, "host:2")
    with a.sessions() as s:
        audit = _audit(s)
    assert claim(a, audit.id, audit.run_token, "clean_eval")
    assert claim(a, audit.id, audit.run_token, "clean_eval")  # re-entrant for the owner
    assert not claim(b, audit.id, audit.run_token, "clean_eval")
    assert not claim(a, audit.id, "stale-token", "clean_eval")
    with a.sessions() as s:
        row = s.get(Audit, audit.id)
        assert (row.status, row.current_stage, row.lease_owner) == ("running", "clean_eval", "host:1")
        assert row.started_at is not None
        s.execute(update(Audit).where(Audit.id == audit.id)
                  .values(lease_until=utcnow() - timedelta(seconds=1)))
        s.commit()
    assert claim(b, audit.id, audit.run_token, "clean_eval")  # the lapsed lease is taken over


def test_reconciler_finds_orphans_and_exactly_one_takes_over(tmp_path: Path, db_url: str) -> None:
    upgrade(db_url)
    ctx = _ctx(tmp_path, db_url)
    old = utcnow() - timedelta(seconds=120)
    with ctx.sessions() as s:
        fresh = _audit(s)                                        # just queued: not an orphan
        lost = _audit(s, enqueued_at=old)                        # queued long ago, no lease
        dead = _audit(s, status="running", lease_owner="gone:9",
                      lease_until=utcnow() - timedelta(seconds=5))  # worker died
        alive = _audit(s, status="running", lease_owner="w:1",
                       lease_until=utcnow() + timedelta(seconds=30), enqueued_at=old)
        done = _audit(s, status="succeeded", enqueued_at=old)
        s.add(StageResult(audit_id=dead.id, stage="clean_eval", result={}, duration_s=1.0))
        s.commit()
    orphans = dict(find_orphans(ctx))
    assert set(orphans) == {lost.id, dead.id}
    assert fresh.id not in orphans and alive.id not in orphans and done.id not in orphans
    # two reconcilers race on the same row: exactly one wins the token swap
    first = take_over(ctx, lost.id, orphans[lost.id])
    second = take_over(ctx, lost.id, orphans[lost.id])
    assert first is not None and second is None
    sent: list[tuple[str, list[str], str]] = []
    assert reconcile(ctx, lambda *args: sent.append(args)) == [dead.id]  # lost was refreshed
    assert sent[0][0] == dead.id and sent[0][1] == ["attribution"]  # only the remaining stage
    with ctx.sessions() as s:
        assert s.get(Audit, dead.id).run_token == sent[0][2]
        assert s.get(Audit, dead.id).lease_owner is None
    assert reconcile(ctx, lambda *args: sent.append(args)) == []  # nothing left to do


def test_reconciler_finishes_cancelled_orphans(tmp_path: Path, db_url: str) -> None:
    upgrade(db_url)
    ctx = _ctx(tmp_path, db_url)
    with ctx.sessions() as s:
        audit = _audit(s, status="running", cancel_requested=True, lease_owner="gone:1",
                       lease_until=utcnow() - timedelta(seconds=1))
    assert reconcile(ctx, lambda *a: pytest.fail("must not enqueue")) == []
    with ctx.sessions() as s:
        row = s.get(Audit, audit.id)
        assert row.status == "cancelled" and row.finished_at is not None


def test_artifact_store_is_content_addressed(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "st")
    (tmp_path / "a.txt").write_bytes(b"hello")
    (tmp_path / "b.txt").write_bytes(b"hello")
    sha = store.put_file(tmp_path / "a.txt")
    assert store.put_file(tmp_path / "b.txt") == sha
    assert store.blob_path(sha).read_bytes() == b"hello"
    assert sha == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    t1, t2 = tmp_path / "t1", tmp_path / "t2"
    for t, order in ((t1, ("x", "y")), (t2, ("y", "x"))):
        (t / "sub").mkdir(parents=True)
        for name in order:
            (t / "sub" / name).write_text(name)
    assert tree_sha256(t1) == tree_sha256(t2)
    (t2 / "sub" / "x").write_text("changed")
    assert tree_sha256(t1) != tree_sha256(t2)
