"""Child processes that cannot outlive their parent (Linux ``PR_SET_PDEATHSIG``).

``attaudit serve`` -> ``attaudit worker`` -> stage executor: each child asks the kernel to send
it a signal when its parent dies, so a SIGKILL or crash of the parent leaves no orphan behind.
Elsewhere (no ``prctl``) the call is a no-op and the clean-shutdown paths still stop children.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int, sig: int = signal.SIGTERM) -> None:
    """Get ``sig`` when the parent dies; exit now if it already died (the race before prctl)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        except OSError:  # pragma: no cover - no libc to call
            pass
    if parent_pid and os.getppid() != parent_pid:
        os._exit(0)
