"""Helpers every CLI command shares: atomic JSON output and tqdm progress hooks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from attaudit.cli.errors import UserError
from common.atomic_io import write_text_atomic


def write_json_atomic(path: str | Path, payload: Any, *, indent: int | None = None) -> None:
    """Write ``payload`` as JSON through a temporary file in the same directory, then rename:
    a failure leaves no half-written file. A missing output directory is a ``UserError``."""
    out = Path(path)
    if not out.parent.is_dir():
        raise UserError(f"output directory {str(out.parent)!r} does not exist")
    write_text_atomic(out, json.dumps(payload, indent=indent))


def tqdm_progress(desc: str) -> tuple[Any, Callable[[float], None]]:
    """A tqdm bar on stderr and the ``progress(fraction)`` hook the libraries call."""
    from tqdm import tqdm

    bar = tqdm(total=1000, desc=desc, leave=False)

    def hook(fraction: float) -> None:
        bar.n = int(1000 * min(max(fraction, 0.0), 1.0))
        bar.refresh()

    return bar, hook
