"""Fetch a model from the Hugging Face hub in a child process that the API kills at a timeout.

``snapshot_download`` has per-request socket timeouts but no overall one: a hub that trickles
bytes, or a proxy that never answers, would hold the caller forever. The API runs
``python -m service.hub_fetch HUB_ID REVISION DEST`` (config, safetensors weights and tokenizer
files only: never pickles) and kills it past ``hub_timeout_seconds``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from service.errors import APIError

ALLOW = ["*.json", "*.safetensors", "*.txt", "*.model"]


def fetch(hub_id: str, revision: str | None, dest: Path, timeout: float) -> None:
    """Download into ``dest``; 504 ``hub_timeout`` past ``timeout``, 502 ``hub_unreachable`` on failure."""
    cmd = [sys.executable, "-m", "service.hub_fetch", hub_id, revision or "", str(dest)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, errors="replace")
    except subprocess.TimeoutExpired:  # subprocess.run killed the child
        raise APIError(504, "hub_timeout",
                       f"Fetching {hub_id!r} from the model hub took longer than {timeout:.0f} seconds.") from None
    if done.returncode != 0:
        reason = (done.stdout.strip().splitlines() or ["an unknown error"])[-1][:80]
        raise APIError(502, "hub_unreachable",
                       f"Could not fetch {hub_id!r} from the model hub: {reason}.")


def main(argv: list[str]) -> int:
    hub_id, revision, dest = argv[0], argv[1] or None, argv[2]
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(hub_id, revision=revision, local_dir=dest, allow_patterns=ALLOW)
    except Exception as exc:  # noqa: BLE001 - the parent reports the type name only (no paths)
        print(type(exc).__name__)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
