# HomeGrid: `make run` starts the whole system on embedded defaults; `make test` runs the tests
# against the real PostgreSQL, Redis and Mosquitto on this machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_ARGS ?=
VENDORED := static/vendor/.installed

.PHONY: help run test lint format services browser static demo migrate bench

help:
	@echo "make run    set up and start HomeGrid on http://127.0.0.1:$(PORT) (no services needed)"
	@echo "make test   set up and run the tests against PostgreSQL, Redis and Mosquitto"
	@echo "make lint   ruff check and format check, import-linter contracts (the architecture)"
	@echo "make bench  run the benchmarks in bench/"

# The virtualenv is rebuilt when a requirements file changes.
$(BIN)/.installed: requirements/base.txt requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $@

# Front-end assets come from the npm registry at build time and are served by whitenoise.
$(VENDORED): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	mkdir -p static/vendor/pico static/vendor/uplot
	cp node_modules/@picocss/pico/css/pico.min.css static/vendor/pico/
	cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css static/vendor/uplot/
	touch $@

static: $(VENDORED)

migrate: $(BIN)/.installed
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	@echo "Demo logins:"
	@$(BIN)/python manage.py seed_demo

run: $(BIN)/.installed static demo
	@echo
	@echo "HomeGrid is starting on http://127.0.0.1:$(PORT)/  (admin: /admin/, API docs: /api/docs/)"
	@echo "Log in with one of the demo logins above. Stop with Ctrl-C."
	@echo
	@# The simulated charger dials the web process, whose port honcho does not tell the others.
	PATH="$(CURDIR)/$(BIN):$$PATH" PORT=$(PORT) HOMEGRID_WEB_PORT=$(PORT) $(BIN)/honcho start -f Procfile

# Start PostgreSQL, Redis and Mosquitto if they are installed but not running.
services:
	@bash .ci/services

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

test: $(BIN)/.installed static services browser
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(BIN)/.installed
	@for script in bench/bench_*.py; do [ -e "$$script" ] && $(BIN)/python "$$script"; done; true
