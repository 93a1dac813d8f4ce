"""Service commands: ``db upgrade``, ``keys create``, ``serve``, ``worker``, ``submit``.

Settings come from ``ATTAUDIT_*`` environment variables (see ``infra.settings``). With no
``ATTAUDIT_BROKER_URL``, ``serve`` also starts an embedded worker process (no Redis needed)
and ``worker`` runs that database-polling worker instead of Celery.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from attaudit.cli.errors import UserError


def _db_upgrade(args: argparse.Namespace) -> int:
    from infra.db.migrate import upgrade
    from infra.settings import get_settings

    url = get_settings().database_url
    upgrade(url, args.revision)
    print(f"database at revision {args.revision}: {url.split('@')[-1]}")
    return 0


def _keys_create(args: argparse.Namespace) -> int:
    from infra.db.session import session_factory
    from infra.settings import get_settings
    from service.auth import create_key

    if not args.tenant.strip():
        raise UserError("--tenant must not be empty")
    with session_factory(get_settings().database_url)() as session:
        try:
            key = create_key(session, args.tenant)
        except Exception as exc:
            if "no such table" in str(exc) or "does not exist" in str(exc):
                raise UserError("the database has no tables yet: run `attaudit db upgrade`") from None
            raise
    print(f"API key for tenant {args.tenant.strip()!r} (shown once):", file=sys.stderr)
    print(key)
    return 0


def _serve(args: argparse.Namespace) -> int:
    """The API, plus (embedded default) a worker kept alive by ``workers.keeper``.

    uvicorn answers SIGTERM/SIGINT by shutting down, restoring the handlers it found and raising
    the signal again; with Python's default handler that killed this process before it could
    stop the worker (the orphan the embedded-serve test left). The handler installed here only
    records the signal, so uvicorn returns and the ``finally`` stops the worker.
    """
    import uvicorn

    from attaudit.cli.http_protocol import protocol_with_header_timeout
    from infra.settings import get_settings
    from service.main import create_app

    settings = get_settings()
    received: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: received.append(signum))
    keeper = None
    if settings.embedded:
        from infra.db.migrate import upgrade

        upgrade(settings.database_url)
        if not args.no_worker:
            from workers.keeper import WorkerKeeper

            keeper = WorkerKeeper(os.environ.copy())
            keeper.start()
    try:
        if not received:
            uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level,
                        workers=1, http=protocol_with_header_timeout(settings.http_header_timeout),
                        timeout_keep_alive=settings.http_timeout_keep_alive,
                        h11_max_incomplete_event_size=settings.http_max_header_bytes,
                        limit_concurrency=settings.http_limit_concurrency, timeout_graceful_shutdown=10)
    finally:
        if keeper is not None:
            keeper.stop()
    return 0


def _worker(args: argparse.Namespace) -> int:
    from infra.settings import get_settings
    from workers.context import default_context

    settings = get_settings()
    ctx = default_context()
    stop = threading.Event()
    if args.parent_pid:
        from workers.parentage import die_with_parent

        die_with_parent(args.parent_pid)
    if settings.embedded:
        from workers.supervisor import Supervisor

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        print("attaudit worker: embedded mode (no broker), polling the database; stages run in a "
              "supervised child process", file=sys.stderr)
        Supervisor(ctx, stop).run_forever()
        return 0
    from jobs.celery_app import make_celery
    from jobs.dispatch import send_audit_chain, waiting_messages
    from workers import liveness
    from workers.reconciler import start_reconciler_thread

    app = make_celery(settings)
    # This process's heartbeat row (health counts live workers); the first beat runs here,
    # before Celery forks its pool, for the same import-lock reason as the first reconcile.
    try:
        liveness.beat(ctx, "celery")
    except Exception as exc:  # noqa: BLE001 - the thread retries every interval
        print(f"attaudit worker: first heartbeat failed: {exc}", file=sys.stderr)
    liveness.start_beating(ctx, "celery", stop)
    if not args.no_reconciler:
        def enqueue(a: str, s: list[str], t: str, config: dict | None = None) -> None:
            send_audit_chain(app, settings, a, s, t, config)

        # One pass here, before Celery forks its pool: the thread must not be importing modules
        # at fork time, or the child inherits a held import lock and hangs forever (seen in
        # tests/reliability: a pool child stuck in _ModuleLock.acquire, its audits never ran).
        try:
            from workers.reconciler import reconcile

            reconcile(ctx, enqueue, waiting=lambda: waiting_messages(app, settings))
        except Exception as exc:  # noqa: BLE001 - the thread retries every interval
            print(f"attaudit worker: first reconcile pass failed: {exc}", file=sys.stderr)
        start_reconciler_thread(ctx, enqueue, stop, waiting=lambda: waiting_messages(app, settings))
    queues = args.queues or f"{settings.gpu_queue},{settings.cpu_queue}"
    argv = ["worker", "-Q", queues, "--concurrency", str(args.concurrency), "--pool", args.pool,
            "--loglevel", args.loglevel, "-E"]
    if args.hostname:
        argv += ["-n", args.hostname]
    try:
        app.worker_main(argv)
    finally:
        stop.set()
    return 0


def _submit(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from attaudit.client import ServiceClient

    model_dir, data = Path(args.model), Path(args.data)
    if not model_dir.is_dir():
        raise UserError(f"model directory not found: {model_dir}")
    if not data.is_file():
        raise UserError(f"data file not found: {data}")
    client = ServiceClient(args.server, args.key)
    model = client.upload_model(model_dir)
    print(f"model {model['id']} ({model['architecture']}, labels {model['labels']})", file=sys.stderr)
    dataset = client.upload_dataset(data, model_id=model["id"], text_column=args.text_column,
                                    pair_column=args.pair_column, label_column=args.label_column)
    print(f"dataset {dataset['id']} ({dataset['rows']} rows)", file=sys.stderr)
    stages = args.stages.split(",") if args.stages else None
    audit = client.start_audit(model["id"], dataset["id"], stages=stages, examples=args.examples,
                               seed=args.seed)
    print(f"audit {audit['id']} {audit['status']}", file=sys.stderr)
    with tqdm(total=100, desc="audit", unit="%", file=sys.stderr) as bar:
        def update(state: dict) -> None:
            bar.set_postfix_str(f"{state['status']} {state.get('current_stage') or ''}".strip())
            bar.update(round(state["progress"] * 100) - bar.n)

        final = client.wait(audit["id"], poll_s=args.poll, timeout_s=args.timeout, on_update=update)
    if final["status"] != "succeeded":
        raise UserError(f"audit {final['id']} {final['status']}: {final.get('error') or 'no error message'}")
    out = Path(args.out)
    client.download(final["id"], "report", out / "report.html")
    client.download(final["id"], "results", out / "report.json")
    print(f"report: {out / 'report.html'}", file=sys.stderr)
    print(final["id"])
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="database migrations")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = db_sub.add_parser("upgrade", help="apply migrations (ATTAUDIT_DATABASE_URL)")
    up.add_argument("--revision", default="head")
    up.set_defaults(func=_db_upgrade)

    keys = subparsers.add_parser("keys", help="API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    create = keys_sub.add_parser("create", help="create a key for a tenant; prints it once")
    create.add_argument("--tenant", required=True)
    create.set_defaults(func=_keys_create)

    serve = subparsers.add_parser("serve", help="serve the REST API (+ embedded worker without a broker)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--no-worker", action="store_true", help="embedded mode: do not start a worker")
    serve.set_defaults(func=_serve)

    worker = subparsers.add_parser("worker", help="run a worker (Celery with a broker, else embedded)")
    worker.add_argument("--queues", default=None, help="comma list (default: the gpu and cpu queues)")
    worker.add_argument("--concurrency", type=int, default=1, help="processes (one per GPU)")
    worker.add_argument("--pool", default="prefork", choices=["prefork", "solo", "threads"])
    worker.add_argument("--loglevel", default="INFO")
    worker.add_argument("--hostname", default=None)
    worker.add_argument("--no-reconciler", action="store_true")
    worker.add_argument("--parent-pid", type=int, default=0, help=argparse.SUPPRESS)
    worker.set_defaults(func=_worker)

    submit = subparsers.add_parser("submit", help="upload a model and data to a server and audit them")
    submit.add_argument("--model", required=True, help="saved model directory")
    submit.add_argument("--data", required=True, help="CSV/TSV/JSONL/Parquet file")
    submit.add_argument("--server", required=True, help="e.g. http://127.0.0.1:8000")
    submit.add_argument("--key", default=os.environ.get("ATTAUDIT_API_KEY"), required="ATTAUDIT_API_KEY" not in os.environ)
    submit.add_argument("--text-column")
    submit.add_argument("--pair-column")
    submit.add_argument("--label-column")
    submit.add_argument("--stages", help="comma list of stages (default: the server's default)")
    submit.add_argument("--examples", type=int)
    submit.add_argument("--seed", type=int)
    submit.add_argument("--out", default="out/submit")
    submit.add_argument("--poll", type=float, default=1.0)
    submit.add_argument("--timeout", type=float, default=None)
    submit.set_defaults(func=_submit)
