"""The embedded worker as a supervisor: audits run in a child process it can replace.

``attaudit worker`` (embedded mode) is this supervisor. It never imports torch and never runs
untrusted input itself: it claims an audit, hands it to a long-lived executor child (spawned;
the child keeps its model cache between audits) and watches it.

- The executor fails an audit, not itself, on any error the stage raises, including
  ``BaseException`` subclasses from native code (``pyo3_runtime.PanicException``).
- When the executor dies anyway (a native abort or segfault, SIGKILL, the OOM killer), the
  supervisor writes what it saw on the audit, frees its lease at once and starts a fresh
  executor. ``claim`` counted the attempt; after ``max_stage_attempts`` the next claim fails the
  audit with that note (``execution.gave_up``). Claims prefer audits with fewer attempts, so a
  poison audit never stays first in line.
- A stage that neither finishes nor ticks past its time budget (``time_budget_s`` of the audit,
  else ``default_time_budget_s``) plus ``budget_grace_seconds`` is killed and the audit failed.
- The supervisor renews the lease and this worker's heartbeat row itself, so a stage holding
  the GIL in native code loses neither.
- SIGTERM/SIGINT: the executor is asked to stop at the next stage boundary; after
  ``shutdown_grace_seconds`` it is killed and the audit is given back uncounted.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import case, update

from infra.db.models import ACTIVE_STATUSES, Audit, utcnow
from workers import liveness, retention
from workers.context import WorkerContext
from workers.embedded import EmbeddedWorker
from workers.execution import PROCESS_EXITS, finish, time_budget

log = logging.getLogger(__name__)


def describe_exit(code: int | None) -> str:
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"exited with code {code}"


def executor_main(conn: Any, owner: str, parent_pid: int, stop: Any, settings: dict) -> None:
    """The executor child: run each (audit id, token) it receives, answer the outcome."""
    from infra.settings import Settings
    from workers.parentage import die_with_parent

    die_with_parent(parent_pid, signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the supervisor, which stops us
    ctx = WorkerContext.from_settings(Settings(**settings))
    ctx.owner_name = owner
    worker = EmbeddedWorker(ctx, stop)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            outcome = worker.run_audit(*job)
        except PROCESS_EXITS:
            raise
        except BaseException as exc:  # noqa: BLE001 - e.g. the database went away: retried later
            log.warning("executor: audit %s: %s: %s", job[0], type(exc).__name__, exc)
            outcome = "error"
        conn.send(outcome)


class Supervisor:
    def __init__(self, ctx: WorkerContext, stop: threading.Event | None = None) -> None:
        self.ctx = ctx
        self.stop = stop or threading.Event()
        self.name = ctx.owner()
        self._mp = multiprocessing.get_context("spawn")
        self._child_stop = self._mp.Event()
        self.proc: Any = None
        self._conn: Any = None
        self.crashes = 0

    # -- the executor child ---------------------------------------------------------------------
    def _ensure_executor(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            return
        parent, child = self._mp.Pipe()
        self.proc = self._mp.Process(target=executor_main, name="attaudit-executor", daemon=True,
                                     args=(child, self.name, os.getpid(), self._child_stop,
                                           self.ctx.settings.model_dump()))
        self.proc.start()
        child.close()
        self._conn = parent
        log.info("worker %s: executor process %d started", self.name, self.proc.pid)

    def _kill_executor(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            self.proc.kill()
        if self.proc is not None:
            self.proc.join(10)
        self.proc = None

    def _stop_executor(self) -> None:
        if self.proc is None:
            return
        try:
            self._conn.send(None)
            self.proc.join(self.ctx.settings.shutdown_grace_seconds)
        except (OSError, ValueError):
            pass
        self._kill_executor()

    # -- database bookkeeping -------------------------------------------------------------------
    def _beat(self, audit_id: str | None) -> None:
        liveness.beat(self.ctx, "embedded", current_audit=audit_id, name=self.name)
        if audit_id is not None:
            with self.ctx.sessions() as s:
                s.execute(update(Audit).where(Audit.id == audit_id, Audit.lease_owner == self.name)
                          .values(lease_until=utcnow() + timedelta(seconds=self.ctx.settings.lease_seconds)))
                s.commit()

    def _give_back(self, audit_id: str, *, note: str | None, uncount: bool) -> None:
        """Free the lease now (the next claim need not wait for it to lapse)."""
        values: dict = {"lease_owner": None, "lease_until": None, "enqueued_at": utcnow()}
        if note is not None:
            values["error"] = note
        if uncount:
            values["attempts"] = case((Audit.attempts > 0, Audit.attempts - 1), else_=0)
        with self.ctx.sessions() as s:
            s.execute(update(Audit).where(Audit.id == audit_id, Audit.lease_owner == self.name,
                                          Audit.status.in_(ACTIVE_STATUSES)).values(**values))
            s.commit()

    def _deadline(self, audit_id: str) -> tuple[float | None, float]:
        """(monotonic deadline or None before the audit started, budget in s): the budget counts
        from ``started_at`` (set by the stage's first claim), as the tick check does."""
        with self.ctx.sessions() as s:
            audit = s.get(Audit, audit_id)
            budget = time_budget(self.ctx, audit)
            started = audit.started_at
        if started is None:
            return None, budget
        if started.tzinfo is None:
            started = started.replace(tzinfo=utcnow().tzinfo)
        left = budget - (utcnow() - started).total_seconds()
        return time.monotonic() + max(0.0, left) + self.ctx.settings.budget_grace_seconds, budget

    # -- one audit --------------------------------------------------------------------------------
    def supervise(self, audit_id: str, token: str) -> str:
        deadline, budget = self._deadline(audit_id)
        self._ensure_executor()
        self._conn.send((audit_id, token))
        hb_every = self.ctx.settings.worker_heartbeat_seconds
        next_beat, stop_by = 0.0, None
        while True:
            if self._conn.poll(0.25):
                try:
                    return self._conn.recv()
                except (EOFError, OSError):
                    self.proc.join(5)  # the pipe closed: the process is ending
            now = time.monotonic()
            if not self.proc.is_alive():
                self.crashes += 1
                code = self.proc.exitcode
                self.proc = None
                with self.ctx.sessions() as s:
                    stage = s.get(Audit, audit_id).current_stage
                note = f"the stage process {describe_exit(code)} during stage {stage or '?'}"
                log.warning("worker %s: audit %s: %s", self.name, audit_id, note)
                self._give_back(audit_id, note=note, uncount=False)
                return "crashed"
            if now >= next_beat:
                try:
                    self._beat(audit_id)
                    if deadline is None:
                        deadline, budget = self._deadline(audit_id)
                except Exception as exc:  # noqa: BLE001 - retried next beat
                    log.warning("worker %s: heartbeat failed: %s", self.name, exc)
                next_beat = now + hb_every
            if self.stop.is_set() and stop_by is None:
                self._child_stop.set()  # the executor gives the audit back at a stage boundary
                stop_by = now + self.ctx.settings.shutdown_grace_seconds
            if stop_by is not None and now > stop_by:
                self._kill_executor()
                self._give_back(audit_id, note=None, uncount=True)
                return "interrupted"
            if deadline is not None and now > deadline:
                self._kill_executor()
                finish(self.ctx, audit_id, "failed",
                       error=(f"time budget of {budget:g} s exceeded: the stage neither finished nor "
                              f"reached a progress check within {self.ctx.settings.budget_grace_seconds:g} s "
                              "more, so its process was stopped; raise time_budget_s or select fewer stages"))
                return "failed"

    # -- the loop ---------------------------------------------------------------------------------
    def run_once(self) -> str | None:
        self._beat(None)
        claimed = EmbeddedWorker(self.ctx).claim_next(owner=self.name)
        if claimed is None:
            return None
        log.info("worker %s: audit %s", self.name, claimed[0])
        return self.supervise(*claimed)

    def run_forever(self) -> None:
        poll = self.ctx.settings.poll_interval_seconds
        next_sweep = 0.0
        try:
            while not self.stop.is_set():
                try:
                    if time.monotonic() >= next_sweep:
                        retention.sweep(self.ctx)
                        next_sweep = time.monotonic() + self.ctx.settings.reconcile_interval_seconds
                    outcome = self.run_once()
                    if outcome is None:
                        self.stop.wait(poll)
                    elif outcome == "crashed":  # no hot loop if executors die at start-up
                        self.stop.wait(min(30.0, poll * 2 ** min(self.crashes, 5)))
                    else:
                        self.crashes = 0  # consecutive executor deaths only
                except Exception as exc:  # noqa: BLE001 - transient DB trouble: wait and poll again
                    log.warning("worker %s: %s", self.name, exc)
                    self.stop.wait(poll * 5)
        finally:
            self._stop_executor()
            liveness.forget(self.ctx, self.name)
