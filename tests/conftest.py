"""Shared fixtures (tiny saved models, small datasets) and the session-end check that the
suite leaves no process running."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_bert"), arch="bert")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}: clone next to shared/")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_tsv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_data import write_tsv

    return write_tsv(tmp_path_factory.mktemp("data") / "tiny.tsv")


@pytest.fixture(scope="session")
def planted_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model trained in seconds with a planted word-pair shortcut (tests/attacks/planted.py)."""
    from tests.attacks.planted import train_planted_model

    return train_planted_model(tmp_path_factory.mktemp("planted0"), seed=0)


@pytest.fixture(scope="session")
def planted_pair_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.attacks.planted import train_planted_model

    return train_planted_model(tmp_path_factory.mktemp("planted_pair"), seed=0, pair_task=True)


# -- the suite leaves no process behind -------------------------------------------------------
# The pytest process becomes a child subreaper (Linux), so a grandchild orphaned by a test (a
# worker whose `attaudit serve` died) is re-parented here instead of to init and stays visible.
# At session end every remaining descendant is listed, killed, and the run fails.
_PR_SET_CHILD_SUBREAPER = 36


def _descendants(root: int) -> list[tuple[int, str]]:
    """(pid, command line) of every live process below ``root``, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] == "Z":  # a zombie is already dead; its parent has not reaped it yet
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    out, stack = [], list(children.get(root, []))
    while stack:
        pid = stack.pop()
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        out.append((pid, cmd))
        stack.extend(children.get(pid, []))
    return out


def pytest_configure(config: pytest.Config) -> None:
    if sys.platform.startswith("linux"):
        import ctypes
        import ctypes.util

        try:
            ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        except OSError:  # pragma: no cover
            pass
    config._attaudit_procs_before = {p for p, _ in _descendants(os.getpid())}  # type: ignore[attr-defined]


def _stop_own_resource_tracker() -> None:
    """The stdlib starts one resource-tracker process per interpreter the first time a
    multiprocessing primitive is made (the supervisor tests' spawned executors do); it lives
    until this interpreter exits, i.e. after this check. It is pytest's own helper, not a
    process a test left behind: stop it here (the stdlib's own shutdown step, run early)."""
    from multiprocessing import resource_tracker

    tracker = getattr(resource_tracker, "_resource_tracker", None)
    stop = getattr(tracker, "_stop", None)
    if stop is not None:
        try:
            stop()
        except Exception:  # noqa: BLE001 - then the check below reports it like any other
            pass


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not Path("/proc/self/stat").exists():
        return
    before = getattr(session.config, "_attaudit_procs_before", set())
    _stop_own_resource_tracker()
    deadline = time.monotonic() + 10  # processes told to stop get a moment to finish
    left = [p for p in _descendants(os.getpid()) if p[0] not in before]
    while left and time.monotonic() < deadline:
        time.sleep(0.25)
        _reap()
        left = [p for p in _descendants(os.getpid()) if p[0] not in before]
    if not left:
        return
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _reap()
    lines = "\n".join(f"  pid {pid}: {cmd[:200]}" for pid, cmd in left)
    session.config.get_terminal_writer().line(
        f"\nERROR: the test run left {len(left)} process(es) running (now killed):\n{lines}", red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _reap() -> None:
    """Collect exited children (orphans re-parented to this subreaper included)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
@pytest.fixture(scope="session")
def saturated_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planted model trained without label smoothing: probabilities saturate (p ~ 0.999)."""
    from tests.attacks.planted import train_planted_model

    return train_planted_model(tmp_path_factory.mktemp("planted_saturated"), seed=0, saturate=True)
