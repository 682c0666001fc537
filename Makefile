# edgefiles — the two commands that work on a fresh machine (package registries only):
#   make dev    install everything, apply D1 migrations, serve the Worker on 127.0.0.1:8787
#   make test   install everything, lint, run every test
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PORT ?= 8787
PERSIST_TO ?= .wrangler/state
PYTHON_FOR_VENV = $(shell scripts/find-python)
# The browser the web app's tests drive: Debian's Chromium, installed by `make test` when missing.
CHROMIUM ?= /usr/bin/chromium

.PHONY: help install browser webdav-tools dev migrate test test-browser soak bench bench-scale lint format openapi vendor key smoke clean

help:
	@echo "make dev     install, migrate, serve on http://127.0.0.1:$(PORT)"
	@echo "make test    install, lint, run all tests"
	@echo "make test-browser   only the web app's browser tests (screenshots in test-results/)"
	@echo "make soak    the long reliability run (SOAK_SECONDS=300)"
	@echo "make bench   benchmarks as ratios to a baseline Worker (bench/results.json, bench/results.png)"
	@echo "make bench-scale   cost per operation at 1k ... 1M file rows (bench/scale.json, bench/scale.png)"
	@echo "make smoke URL=https://... KEY=ef_...   the user journey against a deployment (or make dev)"
	@echo "make lint | make format | make migrate | make openapi | make vendor | make key USER=alice | make clean"

install: node_modules/.installed $(VENV)/.installed $(VENV)/.python_modules

# The workers SDK (pyproject's [project] dependencies) vendored where production imports it from,
# for edgefiles and for the repository's other Workers.
WORKERS := tests/probe_worker bench/hello_worker bench/baseline_worker
$(VENV)/.python_modules: pyproject.toml $(VENV)/.installed
	$(VENV)/bin/python scripts/vendor-python-modules . $(WORKERS)
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(VENV)/.installed: requirements-dev.txt pyproject.toml
	$(PYTHON_FOR_VENV) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

browser:
	@if [ -x "$(CHROMIUM)" ]; then echo "browser: $(CHROMIUM)"; \
	elif [ "$(CHROMIUM)" = /usr/bin/chromium ]; then scripts/install-chromium; \
	else echo "browser: CHROMIUM=$(CHROMIUM) does not exist" >&2; exit 1; fi

# The WebDAV clients the tests drive: Debian's litmus and rclone, installed when missing.
webdav-tools:
	scripts/install-webdav-tools

# Applies migrations/ to the local D1 exactly as `wrangler dev` would see it. The runtime also
# applies pending migrations at start, so both tools always agree on the schema.
migrate: install
	CI=true WRANGLER_SEND_METRICS=false npx wrangler d1 migrations apply DB --local --persist-to $(PERSIST_TO)

# /__scheduled runs the reconciler for anyone who reaches the port, so it is off unless asked
# for: `make dev TEST_SCHEDULED=1`.
TEST_SCHEDULED ?= 0
dev: install migrate
	scripts/vectorize-index local $(PERSIST_TO)
	scripts/ensure-dev-vars .dev.vars
	npm run dev -- --port $(PORT) --persist-to $(PERSIST_TO)$(if $(filter 1,$(TEST_SCHEDULED)), --test-scheduled)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: install browser webdav-tools lint
	npm test
	PYTHONDONTWRITEBYTECODE=1 $(VENV)/bin/pytest
	CHROMIUM=$(CHROMIUM) npm run test:browser

# The web app in Chromium against the local runtime; screenshots in test-results/.
test-browser: install browser
	CHROMIUM=$(CHROMIUM) npm run test:browser

# The reliability suite's long run: the mixed load for SOAK_SECONDS (default 5 minutes), then the
# crash and fault-matrix scenarios again.
SOAK_SECONDS ?= 300
soak: install
	SOAK_SECONDS=$(SOAK_SECONDS) PYTHONDONTWRITEBYTECODE=1 $(VENV)/bin/pytest -s tests/e2e/test_load.py tests/e2e/test_crash.py tests/e2e/test_fault_matrix.py

# Benchmarks (not part of make test): ratios against bench/baseline_worker, measured side by side;
# prints a table and writes bench/results.json and bench/results.png; then CPU and memory per route
# and per consumer run (bench/route_costs.json).
bench: install
	$(VENV)/bin/python bench/run.py
	$(VENV)/bin/python bench/route_costs.py
	$(VENV)/bin/python bench/events.py

# Cost per operation at 1k, 10k, 100k and 1M file rows (bench/scale.json, bench/scale.png).
bench-scale: install
	$(VENV)/bin/python bench/scale.py

# The web app's copy of Uppy (public/vendor/uppy) from the pinned npm package (a test keeps them equal).
vendor: install
	cp node_modules/uppy/dist/uppy.min.mjs node_modules/uppy/LICENSE public/vendor/uppy/

# Writes openapi.json from src/edgefiles/api/openapi.py (a test keeps the two equal).
openapi: install
	$(VENV)/bin/python -c 'import json, sys; sys.path.insert(0, "src"); from edgefiles.api.openapi import OPENAPI; open("openapi.json", "w").write(json.dumps(OPENAPI, indent=2) + "\n")'

# The README's user journey against any running edgefiles (make dev, or the deployed Worker).
smoke:
	@test -n "$(URL)" -a -n "$(KEY)" || (echo "usage: make smoke URL=https://edgefiles.example.workers.dev KEY=ef_..." >&2; exit 2)
	python3 scripts/smoke --url "$(URL)" --key "$(KEY)"

# Mints an API key for USER against the running `make dev` (ADMIN_TOKEN from .dev.vars).
key:
	@test -n "$(USER)" || (echo "usage: make key USER=alice" >&2; exit 2)
	@test -f .dev.vars || (echo "make key: start make dev first (it writes .dev.vars)" >&2; exit 2)
	@token=$$(sed -n 's/^ADMIN_TOKEN=//p' .dev.vars | tr -d '"'); \
	curl -sS -X POST -H "authorization: Bearer $$token" -H 'content-type: application/json' \
	  -d '{"user_id": "$(USER)"}' http://127.0.0.1:$(PORT)/api/admin/keys; echo

clean:
	rm -rf node_modules $(VENV) python_modules $(addsuffix /python_modules,$(WORKERS)) .wrangler .pytest_cache .ruff_cache test-results
