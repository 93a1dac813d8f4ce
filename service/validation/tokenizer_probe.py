"""Load an uploaded tokenizer once, in an isolated child process, before the upload is accepted.

The parser in ``tokenizer_files`` checks the files' structure; this check runs the real Rust
library on them (``tokenizer_child``), because a tokenizer can be well-formed JSON and still
make the library panic, allocate without bound or hang. The child has an address-space limit
(``RLIMIT_AS``), a CPU-time limit and a wall-clock timeout; its exit status or signal decides:
anything but a clean exit with the success line is a ``tokenizer_load_failed`` refusal (422).
Messages name what happened, never a server path.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from service.validation.errors import UploadRejected


def _summary(stderr: str, root: Path) -> str:
    """The last meaningful line of the child's stderr, without server paths."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for marker in ("PanicException", "MemoryError", "Exception", "Error"):
        for line in reversed(lines):
            if marker in line:
                return line.replace(str(root), "<model>")[:300]
    return (lines[-1].replace(str(root), "<model>")[:300]) if lines else "no error output"


def probe_tokenizer(root: str | Path, *, timeout: float = 30.0, memory_bytes: int = 2 * 1024**3) -> dict:
    """Run ``tokenizer_child`` on the model directory ``root``; return its report or refuse."""
    root = Path(root)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "PYTHONPATH", "HOME", "LANG", "LC_ALL")}
    env.update(RUST_BACKTRACE="0", RAYON_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    cmd = [sys.executable, "-m", "service.validation.tokenizer_child", str(root),
           str(int(memory_bytes)), str(max(1, int(timeout)))]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL, errors="replace")
    except subprocess.TimeoutExpired:  # subprocess.run has killed the child
        raise UploadRejected("tokenizer_load_failed", f"the tokenizer did not finish loading and encoding test texts within {timeout:g} seconds") from None
    if done.returncode < 0:
        sig = signal.Signals(-done.returncode).name
        if sig == "SIGXCPU":
            why = "it exceeded the CPU-time limit"
        elif "memory allocation" in done.stderr:
            why = f"it needed more than its {memory_bytes // 1024**2} MiB memory limit and aborted"
        else:
            why = f"it was killed by {sig}"
        raise UploadRejected("tokenizer_load_failed", f"loading the tokenizer crashed the isolated loader ({why})")
    detail = _summary(done.stderr, root)
    if done.returncode != 0:
        if "PanicException" in done.stderr or "panicked" in done.stderr:
            what = "the tokenizers library panicked"
        elif "MemoryError" in done.stderr or "memory allocation" in done.stderr:
            what = f"it needed more than {memory_bytes // 1024**2} MiB of memory"
        else:
            what = f"the loader exited with status {done.returncode}"
        raise UploadRejected("tokenizer_load_failed", f"loading the tokenizer failed: {what} ({detail})")
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        raise UploadRejected("tokenizer_load_failed", "the isolated tokenizer loader gave no result") from None
    return report
