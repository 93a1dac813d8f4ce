# The two commands a new user needs:  `make demo`  (full audit on a real model)  and  `make test`.
# Both create the virtualenv on first use; everything installs from the package index.
PY      ?= python3
VENV    ?= .venv
VENV5   ?= .venv-tf5
BIN     := $(VENV)/bin
OUT     ?= out/demo

.PHONY: setup demo test test-main test-tf5 lint

setup: $(VENV)/.installed

# .venv: transformers 4.x (TF_MAIN=4); .venv-tf5: transformers 5.x, what a plain
# `scripts/setup.sh` / `pip install` gives today. Both get TextAttack (installed --no-deps; see
# scripts/setup.sh for the flair stand-in). `make setup TF_MAIN=5` makes .venv a 5.x one.
TF_MAIN ?= 4
$(VENV)/.installed: pyproject.toml scripts/setup.sh
	PY=$(PY) VENV=$(VENV) TRANSFORMERS=$(TF_MAIN) bash scripts/setup.sh
	touch $@

demo: setup
	$(BIN)/attaudit demo --out $(OUT) $(if $(DATA),--data $(DATA))

test: test-main test-tf5

test-main: setup
	bash scripts/setup.sh --system-tools
	$(BIN)/python -m pytest

# The other major: the whole suite again on transformers 5.x (MiniLM-scale `slow` tests run on
# the main environment only); `make test-tf5 TF5_TESTS=tests/attribution` narrows it.
TF5_TESTS ?= tests
test-tf5:
	PY=$(PY) VENV5=$(VENV5) TF5_TESTS="$(TF5_TESTS)" bash scripts/test_tf5.sh

# The layer contracts of pyproject.toml [tool.importlinter] and ruff.
lint: setup
	$(BIN)/lint-imports
	$(BIN)/ruff check .
