# Plixo: `make demo` to try it, `make test` to check it. Needs only Python >= 3.11.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install demo test test-fast e2e bench lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## Migrate, seed the demo organization, serve on 127.0.0.1:8000 with a worker and the scheduler.
demo: install
	$(BIN)/plixo demo

## The whole suite: unit, integration and browser tests (SQLite unless DATABASE_URL is set).
test: install
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

## Everything but the browser tests.
test-fast: install
	$(BIN)/pytest -n 2 --dist loadfile -m "not e2e" $(PYTEST_ARGS)

## Browser tests only (Playwright driving Chromium); screenshots go to artifacts/screenshots/.
e2e: install
	$(BIN)/pytest -m e2e $(PYTEST_ARGS)

## Benchmarks; results belong in docs/performance.md.
bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check plixo tests bench
	$(BIN)/ruff format --check plixo tests bench

format: install
	$(BIN)/ruff check --fix plixo tests bench
	$(BIN)/ruff format plixo tests bench

clean:
	rm -rf $(VENV) .plixo artifacts
