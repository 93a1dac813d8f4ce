"""Service benchmark: API latency under 50 concurrent clients, and the queue path's overhead.

1. Latency percentiles of ``GET /v1/audits/{id}`` and ``POST /v1/audits`` with 50 concurrent
   clients on loopback against ``attaudit serve`` (uvicorn, one process) on PostgreSQL + Redis
   (the deployment path; ``--db sqlite`` for the embedded default's database).
2. A tiny audit (tiny BERT, stage ``clean_eval``) three ways, warm: ``AuditRun`` called
   directly (what the CLI does), through Celery (HTTP submit -> Redis -> worker process ->
   DB -> HTTP poll) and through the embedded worker (HTTP -> DB poll). The difference is the
   queue path's overhead.

Side by side in the same run, ``GET /v1/audits/{id}`` is also timed against
``bench/minimal_app.py``: the smallest FastAPI app reading the same row with the same driver
(no auth, one sync endpoint), under the same uvicorn settings; the target is attaudit's p99
within 2x of it. The two servers are hammered alternately, in rounds, so a load spike on this
shared machine hits both.

Every process the bench starts is stopped by process group (``serve`` starts a worker child),
and the bench checks that none is left.

Prints a table and writes JSON (``--out``, default bench/results/service.json).
Usage: python bench/service.py [--clients 50] [--requests 2000] [--audits 5] [--db postgres]
       [--latency-only]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.service.conftest import sst_like_tsv, zip_dir  # noqa: E402
from tests.workers.conftest import base_env, cli, free_port, spawn, wait_healthy  # noqa: E402

REDIS = "redis://127.0.0.1:6379/14"


def _group_alive(pgid: int) -> list[int]:
    """Pids still in process group ``pgid`` (from /proc)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM the process group (``serve`` and the worker it started), SIGKILL what is left."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + timeout
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _group_alive(proc.pid):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    left = _group_alive(proc.pid)
    if left:
        raise RuntimeError(f"processes {left} survived SIGKILL of group {proc.pid}")


def spawn_minimal(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    fh = open(log, "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.minimal_app:app", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning", "--http", "h11"],
                            cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def wait_answering(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.3)
    raise RuntimeError(f"server not answering after {timeout}s")


def percentiles(xs: list[float]) -> dict[str, float]:
    s = sorted(xs)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]  # noqa: E731
    return {"p50_ms": pick(0.5) * 1e3, "p90_ms": pick(0.9) * 1e3, "p99_ms": pick(0.99) * 1e3,
            "mean_ms": statistics.fmean(s) * 1e3, "n": len(s)}


async def hammer(base: str, key: str, method: str, path: str, body: dict | None, clients: int,
                 total: int) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = 0
    per_client = total // clients
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"},
                                 limits=limits, timeout=60) as c:
        async def one_client() -> None:
            nonlocal errors
            for _ in range(per_client):
                t0 = time.perf_counter()
                try:
                    r = await c.request(method, path, json=body)
                except httpx.TransportError:  # e.g. a keep-alive connection the server closed
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - t0)
                errors += r.status_code >= 400
        t0 = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        wall = time.perf_counter() - t0
    return latencies, wall, errors


def setup_objects(c: httpx.Client, model_dir: Path) -> tuple[str, str]:
    m = c.post("/v1/models", files={"file": ("m.zip", zip_dir(model_dir))}).json()
    d = c.post("/v1/datasets", files={"file": ("d.tsv", sst_like_tsv(48))},
               data={"model_id": m["id"]}).json()
    return m["id"], d["id"]


def timed_audit(c: httpx.Client, model_id: str, ds_id: str, seed: int) -> float:
    t0 = time.perf_counter()
    aid = c.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id,
                                     "stages": ["clean_eval"], "seed": seed}).json()["id"]
    while True:
        r = c.get(f"/v1/audits/{aid}")
        r.raise_for_status()
        state = r.json()
        if state["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.02)
    if state["status"] != "succeeded":
        raise RuntimeError(f"audit {aid} {state['status']}: {state['error']}")
    return time.perf_counter() - t0


def direct_audits(model_dir: Path, n: int, tmp: Path, *, cached_model: bool) -> list[float]:
    """``AuditRun`` in this process: as the CLI does it (loads the model each run) or with the
    model cached like a warm worker process."""
    from pipeline import AuditConfig, AuditRun
    from workers.model_cache import get_loaded

    class CachedRun(AuditRun):
        def loaded(self):  # noqa: ANN202
            return get_loaded(self.model_dir)

    cls = CachedRun if cached_model else AuditRun
    data = tmp / "direct.tsv"
    data.write_bytes(sst_like_tsv(48))
    times = []
    tag = "c" if cached_model else "u"
    for seed in range(-1, n):  # seed -1 warms imports and caches, not timed
        t0 = time.perf_counter()
        run = cls(model_dir, data, AuditConfig(stages=["clean_eval"], seed=seed,
                                               text_column="sentence", label_column="label"),
                  tmp / f"direct{tag}{seed}")
        run.run_all()
        run.write_report(tmp / f"direct-report{tag}{seed}")
        if seed >= 0:
            times.append(time.perf_counter() - t0)
    return times


def _print_latency(args: argparse.Namespace, out: dict) -> None:
    print(f"\nAPI latency, {args.clients} concurrent clients, {args.requests} requests each row, "
          f"db={args.db}, {os.cpu_count()} CPUs, load average {out['loadavg_start'][0]:.1f} "
          "(shared machine)")
    print(f"{'endpoint':<22}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'req/s':>9}{'errors':>8}")
    for name in ("GET /v1/audits/{id}", "minimal FastAPI GET", "POST /v1/audits"):
        r = out[name]
        print(f"{name:<22}{r['p50_ms']:>9.1f}{r['p90_ms']:>9.1f}{r['p99_ms']:>9.1f}"
              f"{r['throughput_rps']:>9.0f}{r['errors']:>8}")
    print(f"GET p99 attaudit / minimal FastAPI: {out['get_p99_ratio_vs_minimal']:.2f}x (target <= 2x)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--audits", type=int, default=5)
    ap.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds attaudit/minimal for GET")
    ap.add_argument("--latency-only", action="store_true", help="skip the tiny-audit comparison")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "service.json"))
    args = ap.parse_args()
    from tests.tiny_models import build_tiny_model

    tmp = Path(tempfile.mkdtemp(prefix="attaudit-bench-"))
    model_dir = build_tiny_model(tmp / "tiny")
    pg_name = None
    if args.db == "postgres":
        import psycopg

        pg_name = f"attaudit_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        db_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg_name}"
    else:
        db_url = f"sqlite:///{tmp / 'bench.db'}"
    prefix = f"bench{uuid.uuid4().hex[:6]}_"
    env = base_env(tmp, db_url, REDIS, ATTAUDIT_QUEUE_PREFIX=prefix,
                   ATTAUDIT_MAX_CONCURRENT_AUDITS="1000000", ATTAUDIT_RATE_LIMIT_PER_MINUTE="0")
    procs = []
    out: dict = {"clients": args.clients, "requests": args.requests, "db": args.db,
                 "cpu_count": os.cpu_count(), "loadavg_start": os.getloadavg()}
    try:
        assert cli(["db", "upgrade"], env).returncode == 0
        key = cli(["keys", "create", "--tenant", "bench"], env).stdout.strip().splitlines()[-1]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        api = spawn(["serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                    env, tmp / "api.log")
        procs.append(api)
        wait_healthy(base, api, tmp / "api.log")
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
            model_id, ds_id = setup_objects(c, model_dir)
            aid = c.post("/v1/audits", json={"model_id": model_id, "dataset_id": ds_id}).json()["id"]
        body = {"model_id": model_id, "dataset_id": ds_id, "stages": ["clean_eval"]}
        mport = free_port()
        mbase = f"http://127.0.0.1:{mport}"
        minimal = spawn_minimal(env, mport, tmp / "minimal.log")
        procs.append(minimal)
        wait_answering(f"{mbase}/v1/audits/{aid}", minimal, tmp / "minimal.log")
        path = f"/v1/audits/{aid}"
        per_round = max(args.clients, args.requests // args.rounds)
        gets: dict[str, list] = {"GET /v1/audits/{id}": [[], 0.0, 0], "minimal FastAPI GET": [[], 0.0, 0]}
        for _ in range(args.rounds):  # alternate so load spikes on the shared machine hit both
            for name, url in (("GET /v1/audits/{id}", base), ("minimal FastAPI GET", mbase)):
                lat, wall, errors = asyncio.run(hammer(url, key, "GET", path, None, args.clients, per_round))
                gets[name][0] += lat
                gets[name][1] += wall
                gets[name][2] += errors
        for name, (lat, wall, errors) in gets.items():
            out[name] = {**percentiles(lat), "throughput_rps": len(lat) / wall, "errors": errors}
        out["get_p99_ratio_vs_minimal"] = out["GET /v1/audits/{id}"]["p99_ms"] / out["minimal FastAPI GET"]["p99_ms"]
        stop(minimal)
        procs.remove(minimal)
        lat, wall, errors = asyncio.run(hammer(base, key, "POST", "/v1/audits", body, args.clients, args.requests))
        out["POST /v1/audits"] = {**percentiles(lat), "throughput_rps": len(lat) / wall, "errors": errors}
        stop(api)
        procs.remove(api)
        if args.latency_only:
            _print_latency(args, out)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(out, indent=2))
            return 0

        # queue-path overhead: fresh queues so the POST flood above is not in the way
        env["ATTAUDIT_QUEUE_PREFIX"] = prefix + "q_"
        api = spawn(["serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                    env, tmp / "api2.log")
        worker = spawn(["worker", "--concurrency", "1", "--hostname", f"{prefix}@%h",
                        "--no-reconciler"], env, tmp / "worker.log")
        procs += [api, worker]
        wait_healthy(base, api, tmp / "api2.log")
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
            for warm in range(2):  # warm the worker process (imports, model cache)
                timed_audit(c, model_id, ds_id, seed=10_000 + warm)
            celery_t = [timed_audit(c, model_id, ds_id, seed=20_000 + i) for i in range(args.audits)]
        for p in (worker, api):
            stop(p)
            procs.remove(p)
        emb_env = {**base_env(tmp / "emb", f"sqlite:///{tmp / 'emb.db'}"),
                   "ATTAUDIT_POLL_INTERVAL_SECONDS": "0.05", "ATTAUDIT_RATE_LIMIT_PER_MINUTE": "0"}
        (tmp / "emb").mkdir()
        api = spawn(["serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                    emb_env, tmp / "emb.log")
        procs.append(api)
        wait_healthy(base, api, tmp / "emb.log")
        ekey = cli(["keys", "create", "--tenant", "bench"], emb_env).stdout.strip().splitlines()[-1]
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ekey}"}, timeout=60) as c:
            m2, d2 = setup_objects(c, model_dir)
            for warm in range(2):
                timed_audit(c, m2, d2, seed=10_000 + warm)
            embedded_t = [timed_audit(c, m2, d2, seed=20_000 + i) for i in range(args.audits)]
        cli_t = direct_audits(model_dir, args.audits, tmp, cached_model=False)
        direct_t = direct_audits(model_dir, args.audits, tmp, cached_model=True)
        med = statistics.median
        out["tiny_audit"] = {
            "direct_cli_s": med(cli_t), "direct_s": med(direct_t), "celery_s": med(celery_t),
            "embedded_s": med(embedded_t),
            "celery_overhead_s": med(celery_t) - med(direct_t),
            "embedded_overhead_s": med(embedded_t) - med(direct_t),
            "runs": {"direct_cli": cli_t, "direct": direct_t, "celery": celery_t,
                     "embedded": embedded_t},
        }
    finally:
        for p in procs:
            stop(p)
        import redis

        r = redis.Redis.from_url(REDIS)
        for pattern in (f"{prefix}*", f"_kombu.binding.{prefix}*"):
            for k in r.scan_iter(pattern):
                r.delete(k)
        if pg_name:
            import psycopg

            from infra.db.session import get_engine

            get_engine(db_url).dispose()
            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')

    out["loadavg_end"] = os.getloadavg()
    _print_latency(args, out)
    t = out["tiny_audit"]
    print(f"\nTiny audit (clean_eval, warm), median of {args.audits}")
    print(f"{'path':<22}{'seconds':>9}{'overhead':>10}{'ratio':>8}")
    print(f"{'direct, CLI-style':<22}{t['direct_cli_s']:>9.3f}{'':>10}"
          f"{t['direct_cli_s'] / t['direct_s']:>8.2f}  (loads the model every run)")
    print(f"{'direct, model cached':<22}{t['direct_s']:>9.3f}{'':>10}{1.0:>8.2f}")
    print(f"{'Celery + Redis':<22}{t['celery_s']:>9.3f}{t['celery_overhead_s']:>+10.3f}"
          f"{t['celery_s'] / t['direct_s']:>8.2f}")
    print(f"{'embedded (DB poll)':<22}{t['embedded_s']:>9.3f}{t['embedded_overhead_s']:>+10.3f}"
          f"{t['embedded_s'] / t['direct_s']:>8.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
