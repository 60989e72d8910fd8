# Two commands matter: `make dev` (the whole local stack) and `make test` (every test).
# Each installs what it needs itself; see README.md.

SHELL := /bin/bash
PYTHON ?= $(shell scripts/find-python.sh)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# One lock for every environment: every package of every extra, pinned with hashes
# (`make requirements` writes it); the deployed functions/requirements.txt is cut from it.
LOCK := requirements.lock
NPM_STAMP := node_modules/.installed

.PHONY: dev test lint typecheck unit bench load sql-dataset install requirements package fmt clean contract contract-gate contract-baseline docs

## The installer: uv, pinned with its hashes in a lock of its own (`make requirements` writes it
## from requirements-uv.in) and installed by the venv's pip. It installs the lock in seconds
## where pip took a minute and a half (docs/BENCHMARKS.md, "make test's time").
UV_LOCK := requirements-uv.lock
UV := $(VENV)/bin/uv

## Install the Python environment from the lock (hashes checked), then the project itself in
## editable mode without resolving anything again, built with the lock's setuptools (no
## isolated build environment to fetch). The lock also pins the venv's pip (pip-tools uses it).
## The bare venv: the tools' installs below need only its interpreter and uv, so they start at
## once.
$(PY):
	$(PYTHON) -m venv $(VENV)

$(UV): $(UV_LOCK) | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r $(UV_LOCK)
	@touch $@

$(STAMP): pyproject.toml $(LOCK) | $(UV)
	$(UV) pip install --quiet --python $(PY) --require-hashes -r $(LOCK)
	$(UV) pip install --quiet --python $(PY) --no-deps --no-build-isolation -e .
	@touch $@

## Install the npm tools from package-lock.json: firebase-tools (the Auth emulator), quicktype and
## Redocly's CLI (`make contract`, `make docs`), TypeScript and the Firebase JS SDK (the typed
## client-SDK test). Without the optional packages: the only one with a build step is `re2`
## (superstatic's, for the Hosting emulator, which nothing here runs; superstatic falls back to
## JavaScript's RegExp without it), and with no prebuilt binary to download npm compiled it with
## node-gyp on every fresh install, most of the install's time. The others are `@colors/colors`
## (cli-table3's colours), `@pkgjs/parseargs` (for Node < 18) and `pg-cloudflare` (Workers only).
$(NPM_STAMP): package.json package-lock.json
	npm ci --omit=optional --no-audit --no-fund --loglevel=error --prefer-offline
	@touch $@

## Tools in venvs of their own (conflicting pins): the Cloud Tasks emulator and checkov.
TASKS_STAMP := .local/tools/tasks-emulator/.installed
CHECKOV_STAMP := .local/tools/checkov/.installed-3.3.30

## devstack/tools.py imports the standard library only, so the venv's bare interpreter runs it
## (the Tasks emulator's stamp records that interpreter) with the uv beside it: these two need
## not wait for the lock.
$(TASKS_STAMP): | $(UV)
	$(PY) -m devstack.tools tasks-emulator

$(CHECKOV_STAMP): | $(UV)
	$(PY) -m devstack.tools checkov

## Everything, the four installs side by side in one make (each skipped once its stamp exists;
## they download more than they compute). Redis (the shared rate limits) comes from the
## system's packages when it is missing.
INSTALLS := $(STAMP) $(NPM_STAMP) $(TASKS_STAMP) $(CHECKOV_STAMP)
install:
	@scripts/ensure-redis.sh
	@$(MAKE) --no-print-directory -j4 $(INSTALLS)

## The whole local stack in the foreground; Ctrl-C stops everything it started.
dev: install
	$(PY) -m devstack up

## Every test: lint, types, unit, integration (emulators + PostgreSQL) and end to end. The
## installs as `make install` runs them, with lint and types beside them: those need only the
## Python environment, so they run while `npm ci` and the tools' venvs still install. The
## first failure stops it before pytest, with make's exit code; each target's output comes in
## one piece (--output-sync). pytest's workers take the files in the tree's order
## (--no-loadscope-reorder): pytest-xdist otherwise hands out the files with the most tests
## first, which left the one-test files, the lifecycle chain and the schedule-push wait (2.5 and
## 1.5 minutes), for the end, one worker idle beside them.
test:
	@scripts/ensure-redis.sh
	@$(MAKE) --no-print-directory -j4 --output-sync=target $(INSTALLS) lint typecheck
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

## Style, and the layers of docs/ARCHITECTURE.md (import-linter contracts in pyproject.toml).
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/actionlint

typecheck: $(STAMP)
	$(PY) -m mypy

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

fmt: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .
	terraform fmt -recursive infra

## Benchmarks; figures go to docs/BENCHMARKS.md.
bench: install
	$(PY) -m benchmarks

## Simulated users playing a day against a local stack of their own (docs/COST.md); the report
## on stdout. `make load LOAD_ARGS="--users 200 --seed 3"`; against a running `make dev`:
## LOAD_ARGS="--stack-file .local/stack.json". The `load` section of `make bench` runs 50 and 200.
LOAD_ARGS ?=
load: install
	$(PY) -m benchmarks.load $(LOAD_ARGS)

## A seeded dataset in PostgreSQL (make dev's, else one of its own): make sql-dataset ROWS=10000000
ROWS ?= 1000000
sql-dataset: install
	$(PY) -m benchmarks.sql_dataset --rows $(ROWS)

## Regenerate the lock (every extra, hashes), the deployed functions/requirements.txt (runtime
## dependencies only, the lock's versions, hashes), uv's lock and the Terraform registry input.
PIP_COMPILE := $(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host
requirements: $(STAMP)
	$(PIP_COMPILE) --all-extras --unsafe-package focus-backend --output-file $(LOCK) pyproject.toml
	$(PIP_COMPILE) --constraint $(LOCK) --output-file functions/requirements.txt pyproject.toml
	$(PIP_COMPILE) --output-file $(UV_LOCK) requirements-uv.in
	$(PY) -m devstack render-registry

## The client contract: docs/api/openapi.json from the wire models, then the app models under
## clients/ (Swift, Kotlin, TypeScript) from it. A test fails while either is stale.
contract: $(STAMP) $(NPM_STAMP)
	$(PY) -m contract build

## What the current models would break for apps built against docs/api/v1.baseline.json (the
## same gate runs in `make test`).
contract-gate: $(STAMP)
	$(PY) -m contract gate

## Freeze the current contract as the released baseline (docs/API.md, "Versions").
contract-baseline: contract
	cp docs/api/openapi.json docs/api/v1.baseline.json

## The HTML API reference rendered from docs/api/openapi.json: build/api/reference.html.
docs: $(NPM_STAMP)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true node_modules/.bin/redocly \
		build-docs docs/api/openapi.json --inlineBundle --output build/api/reference.html

## Assemble the deployable source (functions/ + shared/) under build/functions-source.
package:
	rm -rf build/functions-source && mkdir -p build/functions-source
	cp -r functions shared build/functions-source/
	cp functions/main.py functions/requirements.txt build/functions-source/
	find build/functions-source -name __pycache__ -prune -exec rm -rf {} +

clean:
	rm -rf $(VENV) node_modules .local build .mypy_cache .ruff_cache .pytest_cache
