# Product Importer: `make run` to use it, `make test` to test it. See README.md.
PYTHON ?= python3
VENV ?= .venv
PY := $(abspath $(VENV))/bin/python
DATA_DIR ?= .data

.DEFAULT_GOAL := help
.PHONY: help run test test-fast fuzz lint lock venv-run venv-dev format frontend bench bench-api bench-pages bench-web-cpu bench-webhooks dataset import admin-password user clean

help:
	@echo "make run        set up, start PostgreSQL, Redis, web and worker; Ctrl-C stops them"
	@echo "make test       run the whole test suite (starts what it needs)"
	@echo "make test-fast  the unit tests only, on a test database kept between runs"
	@echo "make fuzz       schemathesis against the live API, as each role (about 5 minutes)"
	@echo "make lint       ruff, mypy, import contracts; eslint, tsc, prettier (dashboard)"
	@echo "make lock       update uv.lock and requirements.txt after a change to pyproject.toml"
	@echo "make frontend   build the dashboard (make run and make test do it when it changed)"
	@echo "make bench      a 500,000-row import: ours end to end vs the floor and the seed"
	@echo "make bench-api  API latency on 500,000 products: idle, during an import, after"
	@echo "make bench-pages  first, middle and last pages of each order on 500,000 rows, in-process"
	@echo "make bench-web-cpu  the web server's CPU per request (10,000 products); ARGS=--rows N"
	@echo "make bench-webhooks  import and API with 10 webhooks (one silent) vs none; ARGS=--rows N"
	@echo "make dataset    write a seeded 500,000-row CSV to $(DATA_DIR)/products-500k.csv"
	@echo "make import FILE=products.csv   import a CSV now, with a progress bar"
	@echo "make admin-password             give the admin account a new password"
	@echo "make user NAME=vic ROLE=viewer  a new account: viewer, editor or admin"

# Python packages: declared in pyproject.toml, locked with hashes in uv.lock (`make lock`), and
# installed from the lock by uv. uv itself comes from the lock too: the venv's pip installs it in
# hash-checking mode, then `uv sync` installs the rest. The commands that only use the service
# (run, import, ...) sync the tools and local groups and never remove anything; test, lint and the
# benchmarks add the dev group and remove what the lock no longer holds.
UV := $(VENV)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_PYTHON_DOWNLOADS := never
SYNC := $(UV) sync --frozen --quiet --group tools --group local

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 12))' \
		2>/dev/null || { echo "Product Importer needs Python 3.11 or 3.12; $(PYTHON) is" \
		"$$($(PYTHON) --version 2>/dev/null || echo not found). Install one of them and name it," \
		"for example: make run PYTHON=python3.12"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python scripts/install_uv.py

venv-run: | $(UV)
	$(SYNC) --inexact

venv-dev: | $(UV)
	$(SYNC) --group dev

# requirements.txt: the service's packages (no tools, local or dev group) as the lock has them,
# for the Dockerfile and for anyone who installs with pip.
EXPORT := $(UV) export --frozen --no-header --no-emit-project --format requirements-txt
REQUIREMENTS_TXT = { printf '%s\n' \
	'\# Generated from uv.lock by make lock (do not edit): the packages of the service, with' \
	'\# hashes. pip install --require-hashes --no-deps -r requirements.txt'; $(EXPORT); }

# make lock: after a change to pyproject.toml; ARGS=--upgrade (all) or --upgrade-package NAME.
lock: | $(UV)
	$(UV) lock $(ARGS)
	$(REQUIREMENTS_TXT) > requirements.txt

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

run: venv-run frontend/dist/index.html
	cd backend && exec $(PY) -m devstack run

# The dashboard's unit tests (Vitest), then pytest, whose end-to-end tests drive the built dashboard.
test: venv-dev frontend/dist/index.html
	cd frontend && npm test
	$(PY) -m pytest $(PYTEST_ARGS)

# The unit tests alone (no live worker or web server, no browser), on the PostgreSQL cluster and
# test database kept in $(DATA_DIR)/test-fast, with passwords hashed at one PBKDF2 iteration
# (devstack/pytest_plugin.py): initdb and the migrations run only when needed.
# PYTEST_ARGS=--create-db makes the test database anew.
test-fast: venv-dev
	TEST_CLUSTER=keep $(PY) -m pytest -m "not integration" --ignore=backend/e2e --reuse-db \
		--fast-hasher $(PYTEST_ARGS)

# schemathesis against the live API (its own PostgreSQL, Redis, worker and web server, in a
# network namespace of its own), as a viewer, an editor and an admin: fails on any 5xx or any
# answer the schema does not document (backend/devstack/fuzz.py). ARGS=--seconds N per role.
fuzz: venv-dev
	cd backend && $(PY) -m devstack.fuzz $(ARGS)

lint: venv-dev frontend/node_modules/.installed
	$(UV) lock --check --offline
	$(REQUIREMENTS_TXT) | diff -u requirements.txt - \
		|| { echo "requirements.txt is not what uv.lock holds: run make lock"; exit 1; }
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	cd backend && DEBUG=true $(abspath $(VENV))/bin/mypy .
	cd backend && $(abspath $(VENV))/bin/lint-imports --config ../pyproject.toml
	cd frontend && npm run lint

format: venv-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: venv-dev
	cd backend && $(PY) -m benchmarks.imports $(ARGS)

bench-api: venv-dev
	cd backend && $(PY) -m benchmarks.api

bench-pages: venv-dev
	cd backend && $(PY) -m benchmarks.pages $(ARGS)

# The web-CPU part of bench-api alone, on a smaller catalog (benchmarks/web_cpu.py).
bench-web-cpu: venv-dev
	cd backend && $(PY) -m benchmarks.api --web-cpu-only --rows 10000 $(ARGS)

bench-webhooks: venv-dev
	cd backend && $(PY) -m benchmarks.webhooks $(ARGS)

dataset: venv-run
	$(PY) scripts/make_dataset.py $(DATA_DIR)/products-500k.csv --rows 500000

admin-password: venv-run
	cd backend && $(PY) -m devstack manage ensure_admin --new-password

# make user NAME=vic ROLE=viewer: a new account on make run's database (asks for its password).
user: venv-run
	@test -n "$(NAME)" -a -n "$(ROLE)" || (echo "usage: make user NAME=name ROLE=viewer|editor|admin"; exit 2)
	cd backend && $(PY) -m devstack manage create_user $(NAME) --role $(ROLE)

# make import FILE=products.csv: the import engine in-process, on make run's database.
import: venv-run
	@test -n "$(FILE)" || (echo "usage: make import FILE=path/to/catalog.csv"; exit 2)
	cd backend && $(PY) -m devstack manage import_products $(abspath $(FILE))

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache frontend/node_modules frontend/dist
