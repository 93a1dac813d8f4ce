"""Armed pickles: unpickling them creates a marker file (proof that code would have run)."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path


class _Touch:
    """Pickles to ``pathlib.Path.touch(marker)``: loading it runs code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def armed_pickle(marker: Path) -> bytes:
    """Pickle bytes whose loading would create ``marker``."""
    return pickle.dumps({"state_dict": _Touch(marker)}, protocol=4)


def prove_armed(data: bytes, marker: Path) -> bool:
    """Unpickle ``data`` in a child process; True when that created ``marker`` (it is armed)."""
    code = "import pickle, sys; pickle.loads(sys.stdin.buffer.read())"
    subprocess.run([sys.executable, "-c", code], input=data, check=True, timeout=60)
    return marker.exists()
