# The two commands a new user needs:  `make demo`  (full audit on a real model)  and  `make test`.
# Both create the virtualenv on first use; everything installs from the package index.
PY      ?= python3
VENV    ?= .venv
VENV5   ?= .venv-tf5
BIN     := $(VENV)/bin
OUT     ?= out/demo

.PHONY: setup demo test test-main test-tf5 lint

setup: $(VENV)/.installed

# One pip command so the transformers<5 pin (textattack -> flair) and MiniLM's
# sentence-transformers dependency are resolved together.
$(VENV)/.installed: pyproject.toml scripts/setup.sh
	PY=$(PY) VENV=$(VENV) bash scripts/setup.sh
	touch $@

demo: setup
	$(BIN)/attaudit demo --out $(OUT) $(if $(DATA),--data $(DATA))

test: test-main test-tf5

test-main: setup
	bash scripts/setup.sh --system-tools
	$(BIN)/python -m pytest

# The attention intervention point proven on transformers 5.x too (no textattack there).
test-tf5:
	PY=$(PY) VENV5=$(VENV5) bash scripts/test_tf5.sh

# The layer contracts of pyproject.toml [tool.importlinter] and ruff.
lint: setup
	$(BIN)/lint-imports
	$(BIN)/ruff check .
