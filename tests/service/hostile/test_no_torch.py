"""service/validation must never import torch or transformers (not even transitively)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_validation_imports_no_ml_stack(tmp_path: Path) -> None:
    code = (
        "import sys, service.validation as v, service.validation.dataset_files as d\n"
        "open(sys.argv[1], 'w').write(' '.join(sorted(m for m in ('torch', 'transformers', 'datasets', 'safetensors') if m in sys.modules)))\n"
    )
    out = tmp_path / "mods"
    subprocess.run([sys.executable, "-c", code, str(out)], cwd=ROOT, check=True, timeout=60,
                   env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.read_text() == ""
