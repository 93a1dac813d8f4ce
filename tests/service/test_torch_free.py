"""`service/` never imports torch, not even transitively; neither does the broker side of workers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
from service.main import create_app
from infra.settings import Settings
app = create_app(Settings(data_dir=sys.argv[1], broker_url="redis://127.0.0.1:6379/13"))
import jobs.celery_app, jobs.dispatch, workers.reconciler, workers.embedded, workers.tasks
import service.validation, infra.db.migrate, attaudit.client, attaudit.cli.service_cmds
heavy = sorted(m for m in ("torch", "transformers", "attribution", "attacks", "textattack")
               if m in sys.modules)
print("HEAVY", heavy)
print("ROUTES", len(app.openapi()["paths"]))
"""


def test_api_and_dispatch_import_without_torch(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout
    assert int(out.stdout.split("ROUTES")[1]) == 12  # every /v1 path
