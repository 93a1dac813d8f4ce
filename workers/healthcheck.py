"""Container healthcheck for a Celery worker: does this host's worker answer a ping?

``python -m workers.healthcheck`` exits 0 when ``attaudit@<hostname>`` replies within 10 s.
"""

from __future__ import annotations

import socket
import sys

from jobs.celery_app import make_celery


def main() -> int:
    app = make_celery()
    name = f"attaudit@{socket.gethostname()}"
    replies = app.control.ping(destination=[name], timeout=10)
    return 0 if any(name in r for r in replies) else 1


if __name__ == "__main__":
    sys.exit(main())
