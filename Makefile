# KA Platform — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck contracts pytest bench bench-quick clean install

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

## In parallel: one pytest-xdist worker per CPU, at most 2 (`make pytest PYTEST_WORKERS=1` for one), whole files per
## worker (module- and package-scoped platforms stay in one process). Plain `.venv/bin/pytest` runs serially.
PYTEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(max(1, min(2, len(os.sched_getaffinity(0)))))')

pytest: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

## Benchmarks: `make bench` runs every scenario at full sizes and writes docs/BENCHMARKS.md (PostgreSQL rows too when
## KAM_BENCH_POSTGRES_URL names a server); `make bench-quick` runs them small (CI) and writes var/bench-quick.md.
bench: $(STAMP)
	KAM_BENCH_COMMAND="make bench" $(BIN)/python -m bench

bench-quick: $(STAMP)
	KAM_BENCH_COMMAND="make bench-quick" $(BIN)/python -m bench --quick

clean:
	rm -rf var .mypy_cache .ruff_cache
