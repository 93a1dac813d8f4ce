"""Per-audit resource budgets enforced inside the worker at every progress tick.

- time: ``time_budget_s`` of the audit (wall clock since the audit started, all stages);
- memory: ``ATTAUDIT_WORKER_MEMORY_MB``, the resident size allowed to the worker process.

Exceeding either raises ``BudgetExceeded`` from the pipeline's tick; the audit ends ``failed``
with that sentence, the task returns and the worker takes the next audit. A process over its
memory budget is also replaced by Celery after the task (``worker_max_memory_per_child``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime, timezone

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class BudgetExceeded(Exception):
    input_error = True  # the message is for the user, not a traceback


def resident_mb() -> float:
    """This process's resident set size in MiB (from /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def budget_check(time_budget_s: float | None, started_at: datetime | None,
                 memory_mb: float | None) -> Callable[[str], None]:
    """A function of the stage name that raises ``BudgetExceeded`` when a budget is spent."""
    if started_at is not None and started_at.tzinfo is None:
        started_at = started_at.replace(tzinfo=timezone.utc)
    t0 = started_at.timestamp() if started_at else time.time()

    def check(stage: str) -> None:
        spent = time.time() - t0
        if time_budget_s is not None and spent > time_budget_s:
            raise BudgetExceeded(f"time budget of {time_budget_s:g} s exceeded during stage {stage} "
                                 f"({spent:.1f} s spent); raise time_budget_s or select fewer stages")
        if memory_mb:
            rss = resident_mb()
            if rss > memory_mb:
                raise BudgetExceeded(f"memory budget of {memory_mb:g} MB exceeded during stage {stage} "
                                     f"(worker resident size {rss:.0f} MB); use a smaller model or batch")

    return check
