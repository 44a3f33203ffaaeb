# KA Platform — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck contracts pytest bench clean install

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

## Start NATS (embedded), the five services and the gateway; load demo data on first start. Ctrl-C stops.
run: $(STAMP)
	$(BIN)/kam up

## Lint, type-check, architecture contracts and the whole test suite (PostgreSQL too when KAM_TEST_POSTGRES_URL is set).
test: $(STAMP) lint typecheck contracts pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy shared gateway services kam

contracts: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

## Benchmarks (not part of `make test`); results go to docs/BENCHMARKS.md.
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf var .mypy_cache .ruff_cache
