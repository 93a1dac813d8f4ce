"""Where the time of ``GET /v1/audits/{id}`` goes: its dependencies timed one by one, then the
request path as it was (sync auth dependency with its own DB lookup, sync session dependency,
sync endpoint) against the path as it is (key cache on the event loop, one threadpool hop),
in process (httpx ASGI transport, no sockets), 50 concurrent clients, on PostgreSQL.

py-spy, yappi and pyinstrument are not installed; cProfile sees only the event-loop thread, so
the threadpool side is measured by timing each dependency directly, and by counting hops.
Usage: python bench/profile_status.py [--db postgres|sqlite] [--requests 1000] [--clients 50]
"""


import argparse
import asyncio
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _ms(xs: list[float]) -> str:
    s = sorted(xs)
    return (f"p50 {1e3 * s[len(s) // 2]:7.2f} ms  p99 {1e3 * s[min(len(s) - 1, int(0.99 * len(s)))]:7.2f} ms"
            f"  mean {1e3 * statistics.fmean(s):7.2f} ms")


def _time(fn, n: int = 300) -> list[float]:  # noqa: ANN001
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=50)
    args = ap.parse_args()

    import httpx
    from anyio import to_thread
    from fastapi import Depends, Request

    from infra.db.migrate import upgrade
    from infra.db.models import Audit, DatasetRow, ModelRow, new_id
    from infra.db.session import get_engine, session_factory
    from infra.settings import Settings
    from service.auth import KeyCache, create_key, tenant_for_key
    from service.deps import SessionDep
    from service.errors import APIError, get_owned
    from service.main import create_app
    from service.schemas import AuditOut

    tmp = Path(tempfile.mkdtemp(prefix="attaudit-profile-"))
    pg_name = None
    if args.db == "postgres":
        import psycopg

        pg_name = f"attaudit_prof_{uuid.uuid4().hex[:8]}"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg_name}"
    else:
        url = f"sqlite:///{tmp / 'p.db'}"
    try:
        upgrade(url)
        sessions = session_factory(url)
        with sessions() as s:
            key = create_key(s, "prof")
            tenant = tenant_for_key(s, key)
            m = ModelRow(tenant_id=tenant.id, sha256="a" * 64, architecture="bert", labels=["a", "b"],
                         num_parameters=1, num_layers=1, num_heads=1, filename="m")
            d = DatasetRow(tenant_id=tenant.id, sha256="b" * 64, content_key="c" * 64, format="tsv",
                           filename="d", text_column="sentence", pair_column=None, label_column="label",
                           rows=1, label_counts={})
            s.add_all([m, d])
            s.flush()
            audit = Audit(id=new_id(), tenant_id=tenant.id, model_id=m.id, dataset_id=d.id, config={"seed": 0},
                          stages=["clean_eval"], status="queued", run_token=new_id(), report_files={})
            s.add(audit)
            s.commit()
            tenant_id, aid = tenant.id, audit.id

        print(f"== dependencies one by one, sequential, db={args.db}")

        def auth_lookup() -> None:
            with sessions() as s:
                tenant_for_key(s, key)
                s.commit()

        cache = KeyCache(sessions, ttl=60)
        cache.lookup(key)

        def read_row() -> None:
            with sessions() as s:
                AuditOut.model_validate(get_owned(s, Audit, aid, tenant_id, "audit")).model_dump(mode="json")

        with sessions() as s:
            row = s.get(Audit, aid)
            s.expunge(row)
        parts = {"auth: key lookup in the DB + commit": auth_lookup,
                 "auth: key cache hit": lambda: cache.cached(key),
                 "session + row read + close": read_row,
                 "AuditOut serialisation": lambda: AuditOut.model_validate(row).model_dump(mode="json")}
        for name, fn in parts.items():
            _time(fn, 30)
            print(f"  {name:<40}{_ms(_time(fn))}")

        async def hop_latency(hops: int) -> list[float]:
            out: list[float] = []

            async def client() -> None:
                for _ in range(args.requests // args.clients):
                    t0 = time.perf_counter()
                    for _ in range(hops):
                        await to_thread.run_sync(lambda: None)
                    out.append(time.perf_counter() - t0)
            await asyncio.gather(*(client() for _ in range(args.clients)))
            return out

        print(f"== threadpool hops alone, {args.clients} concurrent tasks (empty function)")
        for hops in (1, 4):
            print(f"  {hops} hop(s) per request{'':<22}{_ms(asyncio.run(hop_latency(hops)))}")

        settings = Settings(data_dir=tmp, database_url=url, broker_url="", rate_limit_per_minute=0)
        app = create_app(settings)

        def old_tenant(request: Request, session: SessionDep):  # noqa: ANN202 - the path before the fix
            tenant = tenant_for_key(session, request.headers["authorization"].split(" ", 1)[1])
            session.commit()
            if tenant is None:
                raise APIError(401, "invalid_api_key", "Unknown key.")
            return tenant

        @app.get("/before/audits/{audit_id}", response_model=AuditOut)
        def old_get_audit(audit_id: str, session: SessionDep, tenant=Depends(old_tenant)):  # noqa: ANN001, ANN202, B008
            return get_owned(session, Audit, audit_id, tenant, "audit")

        async def hammer(path: str, profile: cProfile.Profile | None = None) -> list[float]:
            out: list[float] = []
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://x",
                                         headers={"Authorization": f"Bearer {key}"}) as c:
                async def client() -> None:
                    for _ in range(args.requests // args.clients):
                        t0 = time.perf_counter()
                        r = await c.get(path)
                        assert r.status_code == 200, r.text
                        out.append(time.perf_counter() - t0)
                await c.get(path)
                if profile:
                    profile.enable()
                await asyncio.gather(*(client() for _ in range(args.clients)))
                if profile:
                    profile.disable()
            return out

        print(f"== whole request in process, {args.clients} concurrent clients, {args.requests} requests")
        results = {}
        for label, path in (("before: sync deps + sync endpoint", f"/before/audits/{aid}"),
                            ("after: key cache + one hop", f"/v1/audits/{aid}")):
            prof = cProfile.Profile()
            t0 = time.perf_counter()
            lat = asyncio.run(hammer(path, prof))
            wall = time.perf_counter() - t0
            results[label] = lat
            print(f"  {label:<40}{_ms(lat)}  {len(lat) / wall:6.0f} req/s")
            buf = io.StringIO()
            # The client's own cost is left out: httpx's ASGI transport probes for trio (an
            # import attempt, os.stat calls) on every request.
            pstats.Stats(prof, stream=buf).sort_stats("cumtime").print_stats(r"(fastapi|starlette|service|anyio|sqlalchemy)/", 8)
            top = [ln for ln in buf.getvalue().splitlines() if ln.strip() and ln.strip()[0].isdigit()][1:9]
            print("    event-loop thread, server functions by cumulative time (cProfile):")
            for ln in top:
                print("     ", ln.strip()[:150])
    finally:
        get_engine(url).dispose()
        if pg_name:
            import psycopg

            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
