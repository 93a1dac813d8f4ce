#!/usr/bin/env bash
# Run the attribution tests against transformers 5.x in a separate virtualenv.
set -euo pipefail
PY=${PY:-python3}
VENV5=${VENV5:-.venv-tf5}
if [ ! -f "$VENV5/.installed" ]; then
  "$PY" -m venv "$VENV5"
  "$VENV5/bin/pip" install -q --upgrade pip
  "$VENV5/bin/pip" install -q "torch==2.13.*" "transformers>=5,<6" safetensors numpy tqdm \
      datasets captum scipy pytest pytest-timeout
  touch "$VENV5/.installed"
fi
"$VENV5/bin/python" -m pytest tests/attribution -m "not slow and not textattack" -p no:cacheprovider
