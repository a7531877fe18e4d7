# The two commands of the README. Both work on a fresh machine with only Python 3.11 and make:
# they create .venv, install requirements.txt, and provide Redis (REDIS_URL if set, else a
# local server from project/localredis.py).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# ASGI worker processes of make run's web server (WEB_CONCURRENCY, project/processes.py): about one per core.
WEB_CONCURRENCY ?= 2
# Options of make run's `manage.py seed_demo`, e.g. DEMO="--best-of 3 --final-best-of 5 --third-place".
DEMO ?=

.PHONY: run test lint bench bench-load chaos venv browser clean

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

venv: $(BIN)/.installed

## run: Redis, migrations, demo data, ASGI server, Celery worker and beat, and a simulated live demo;
## prints the live page URL.
run: venv
	mkdir -p .data
	rm -rf .data/metrics && mkdir -p .data/metrics  # the processes' metric files, summed by /metrics
	$(BIN)/python manage.py migrate --noinput
	PATH="$(CURDIR)/$(BIN):$$PATH" SITE_URL=http://$(HOST):$(PORT) WEB_HOST=$(HOST) WEB_PORT=$(PORT) \
		PROMETHEUS_MULTIPROC_DIR=$(CURDIR)/.data/metrics \
		WEB_CONCURRENCY=$(WEB_CONCURRENCY) \
		$(BIN)/python -m project.localredis --data-dir .data/redis -- \
		sh -c '$(BIN)/python manage.py seed_demo $(DEMO) && exec $(BIN)/honcho start -f Procfile' 

## test: the whole suite against real Redis, real Celery workers, real ASGI servers, real Chromium.
test: venv browser
	$(BIN)/ruff check .
	$(BIN)/python -m project.localredis --port 0 -- $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

## bench: the coalescing engine's cost as ratios against baselines measured in the same run; then the HTTP
## score path against a plain view and a DRF floor, on SQLite and PostgreSQL (bench/api.py, docs/benchmarks/api.md).
bench: venv
	$(BIN)/python -m project.localredis --port 0 -- $(BIN)/python -m bench
	$(BIN)/python -m project.localredis --port 0 -- $(BIN)/python -m bench.api $(BENCH_API_ARGS)

## bench-load: end-to-end latency and fan-out at scale against bare Channels (docs/benchmarks.md).
bench-load: venv
	$(BIN)/python -m project.localredis --port 0 -- $(BIN)/python -m bench.load $(BENCH_ARGS)

## chaos: the long multi-process chaos run of docs/operations.md (OPS operations, default 5000).
OPS ?= 5000
DATABASE ?= sqlite
chaos: venv
	$(BIN)/python -m project.localredis --port 0 -- $(BIN)/python -m tests.harness.topology --ops $(OPS) --database $(DATABASE)

clean:
	rm -rf $(VENV) .data .pytest_cache

# The page tests drive Debian's Chromium (Playwright cannot download a browser here). Installed with
# apt when missing and we may (root or passwordless sudo); otherwise say what to install.
browser:
	@if [ -n "$$CHROMIUM_BIN" ] || command -v chromium >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO=sudo; \
	else echo "The page tests need Chromium: install Debian's 'chromium' package or set CHROMIUM_BIN." >&2; exit 1; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null
