# The two commands of the README: `make sim-run` (the main job) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: sim-run test install install-test

$(BIN)/opensbs: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

install: $(BIN)/opensbs

sim-run: install
	$(BIN)/opensbs run --sim

install-test: install
	scripts/install-test-deps.sh

test: install-test
	scripts/run-tests.sh
