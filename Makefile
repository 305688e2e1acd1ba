# Huiliu — every developer command. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HUILIU_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
export HUILIU_TEST_DATABASE_URL

.DEFAULT_GOAL := help
.PHONY: help install install-py install-web install-browser install-wrk web run migrate demo serve worker test test-db test-sqlite test-pg test-e2e lint fmt bench screenshots clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install-py: $(VENV)/.installed

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

install-web: web/node_modules/.installed

install-browser: ## Debian's Chromium for the browser tests (Playwright drives it; no browser download)
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@fc-list :lang=zh 2>/dev/null | grep -q . || { apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei >/dev/null; }

install-wrk: ## wrk, the load generator of bench/ (its smoke tests run in make test)
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

install: install-py install-web ## Install Python and web dependencies

src/huiliu/static/console/index.html: $(shell find web/src web/index.html web/h5.html web/vite.config.ts -type f 2>/dev/null) web/node_modules/.installed
	cd web && npm run build

web: src/huiliu/static/console/index.html ## Build the web app when its sources changed

migrate: install-py ## Apply database migrations
	$(BIN)/huiliu migrate

demo: migrate ## Seed the demo tenant (idempotent)
	$(BIN)/huiliu demo

run: install web demo ## Install, migrate, seed the demo and start API + worker on http://127.0.0.1:8000
	$(BIN)/huiliu run

test: install install-browser install-wrk web lint test-db test-e2e ## Everything CI runs: lint, suite on SQLite and PostgreSQL, browser tests

# The SQLite and PostgreSQL runs are independent processes (own database, tmp dirs, ports, Redis keys):
# run them at the same time, each into its own log and pytest cache, then print both logs one after the
# other and fail when either failed (decision 0057).
test-db: install-py ## The suite on SQLite and on PostgreSQL at the same time, logs printed one after the other
	@logs=$$(mktemp -d); started=$$SECONDS; \
	echo "test-db: SQLite and PostgreSQL suites in parallel (logs: $$logs)"; \
	env -u HUILIU_TEST_DATABASE_URL $(BIN)/pytest -q -m "not e2e" -o cache_dir=.pytest_cache/sqlite >$$logs/sqlite.log 2>&1 & sqlite=$$!; \
	$(BIN)/pytest -q -m "not e2e" -o cache_dir=.pytest_cache/pg >$$logs/pg.log 2>&1 & pg=$$!; \
	wait $$sqlite; sqlite_rc=$$?; echo "test-db: SQLite run ended (exit $$sqlite_rc) after $$((SECONDS - started)) s"; \
	wait $$pg; pg_rc=$$?; echo "test-db: PostgreSQL run ended (exit $$pg_rc) after $$((SECONDS - started)) s"; \
	echo "==================== test-sqlite (exit $$sqlite_rc) ===================="; cat $$logs/sqlite.log; \
	echo "==================== test-pg (exit $$pg_rc) ===================="; cat $$logs/pg.log; \
	rm -rf $$logs; \
	if [ $$sqlite_rc -ne 0 ] || [ $$pg_rc -ne 0 ]; then echo "test-db: FAILED (SQLite exit $$sqlite_rc, PostgreSQL exit $$pg_rc)"; exit 1; fi

test-sqlite: install-py ## The suite on SQLite
	env -u HUILIU_TEST_DATABASE_URL $(BIN)/pytest -q -m "not e2e"

test-pg: install-py ## The suite on PostgreSQL ($$HUILIU_TEST_DATABASE_URL)
	$(BIN)/pytest -q -m "not e2e"

test-e2e: install install-browser web ## Browser tests (Playwright + Debian Chromium)
	env -u HUILIU_TEST_DATABASE_URL $(BIN)/pytest -q -m e2e tests/e2e

lint: install ## ruff, formatting, mypy, import contracts, eslint, vue-tsc
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	@if [ -f web/package.json ]; then cd web && npm run lint && npm run typecheck; fi

fmt: install-py ## Format and autofix
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install-py ## Benchmarks (see docs/benchmarks.md); needs wrk, installed here from Debian when missing
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m bench all

screenshots: install install-browser web ## PNGs of the main screens into docs/screenshots/
	$(BIN)/python -m tests.e2e.screenshots

clean: ## Remove local state (database, files, builds)
	rm -rf var src/huiliu/static/console src/huiliu/static/h5
