#!/usr/bin/env bash
# Run the tests on the other transformers major in a second virtualenv (.venv-tf5 by default,
# transformers 5.x, built by scripts/setup.sh with TextAttack and the flair stand-in).
#   TF5_TESTS="tests"  the whole suite (the default); e.g. "tests/attribution tests/attacks" for the
#                      parts that depend on the transformers major.
set -euo pipefail
PY=${PY:-python3}
VENV5=${VENV5:-.venv-tf5}
if [ ! -f "$VENV5/.installed" ]; then
  PY="$PY" VENV="$VENV5" TRANSFORMERS=5 bash scripts/setup.sh
  touch "$VENV5/.installed"
fi
# shellcheck disable=SC2086
"$VENV5/bin/python" -m pytest ${TF5_TESTS:-tests} -m "not slow" -p no:cacheprovider
