# W.W.H.D. agent server. `make serve` and `make test` do all of their own set-up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 2024
export LANGGRAPH_CLI_NO_ANALYTICS := 1
export LANGGRAPH_NO_VERSION_CHECK := true

.PHONY: help install ui passage-vectors serve ingest test test-fast cluster test-cluster bench-cluster lint eval train-router train-answers bench local-llm lock image clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

install: $(STAMP) ## create .venv with the pinned dependencies

# The reference chat page (ui/, served at /ui): its dependencies are installed again only when
# ui/package*.json change, and the bundle is rebuilt only when a source changes. ui/dist/ is
# built here, never committed.
ui/node_modules/.installed: ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

ui/dist/index.html: ui/node_modules/.installed ui/package.json ui/index.html $(wildcard ui/src/*)
	cd ui && npm run build --silent

ui: ui/dist/index.html ## build the reference chat page (ui/ -> ui/dist/, served at /ui)

# The page is a convenience: without Node.js the server still starts, and /ui says how to build it.
serve: $(STAMP) ## run the server on 127.0.0.1:$PORT (ingests the corpus on first run; page at /ui)
	@$(MAKE) --no-print-directory ui || echo "make: the /ui page was not built (it needs Node.js and npm); serving without it"
	$(BIN)/wwhd serve --port $(PORT)

ingest: $(STAMP) ## sync the bundled corpus into the collection (incremental)
	$(BIN)/wwhd ingest

tests/js/node_modules: tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

local-llm: $(STAMP) ## provision and run the local model server (llama.cpp + Qwen2.5 0.5B)
	$(BIN)/python -m devtools.local_llm serve

# devtools.browser installs Debian's Chromium for the browser test; where it cannot, the other
# tests still run and that one fails, saying how to install it.
test: $(STAMP) tests/js/node_modules ui ## lint, layers, then every test (unit, component, integration, llm, cluster)
	$(BIN)/ruff check .
	$(BIN)/python -m devtools.layers
	@$(BIN)/python -m devtools.browser || echo "make: no Chromium: the browser test will fail"
	$(BIN)/python -m devtools.local_llm provision
	$(BIN)/python -m devtools.cluster provision
	$(BIN)/python -m pytest -ra

# Cluster mode: PostgreSQL, Redis and nginx (Debian's packages, installed if missing), replicas
# from .venv-cluster (Python 3.12, requirements-cluster.lock), all on loopback.
cluster: $(STAMP) ## run a local cluster: PostgreSQL, Redis, 2 replicas, nginx on 127.0.0.1:8080
	$(BIN)/python -m devtools.cluster up --replicas $(or $(REPLICAS),2) --port $(or $(CLUSTER_PORT),8080)

bench-cluster: $(STAMP) ## cluster benchmark: 1, 2, 3 replicas; runs/wait; a task's knowledge base at start-up
	$(BIN)/python -m devtools.cluster_bench

test-cluster: $(STAMP) ## the cluster tests only (three replicas behind nginx; a few minutes)
	$(BIN)/python -m devtools.cluster provision
	$(BIN)/python -m pytest -ra tests/cluster

test-fast: $(STAMP) ## unit tests only (no I/O; well under a minute)
	$(BIN)/python -m pytest -ra tests/unit

image: $(STAMP) ## build the container image (Docker, else podman with a base made by debootstrap)
	$(BIN)/python -m devtools.image

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .

eval: $(STAMP) ## score the router (understanding test split) and the answers; writes evals/reports/
	$(BIN)/wwhd eval-router
	$(BIN)/wwhd eval

train-router: $(STAMP) ## retrain the router's classifier from evals/understanding/data (graphs/model/)
	$(BIN)/wwhd train-router

train-answers: $(STAMP) ## refit the quote ranker and not-covered gate on the train + dev splits (graphs/model/answers.json)
	$(BIN)/wwhd ingest --quiet
	$(BIN)/wwhd train-answers

passage-vectors: $(STAMP) ## re-embed the bundled corpus into tools/data/passage-vectors.npz (after editing corpus/)
	$(BIN)/python -m devtools.passage_vectors

bench: $(STAMP) ## benchmarks: router; one table of search at 10k/50k, ingestion, HTTP vs in-process turn, memory; load
	$(BIN)/python -m devtools.router_bench
	$(BIN)/python -m devtools.bench_table
	$(BIN)/python -m devtools.bench

# The locks are made with uv rather than pip-tools: `uv pip compile --universal` writes ONE
# resolution valid on Python 3.11 and 3.12 (environment markers where they differ) and hashes every
# file in the same step. requirements.lock: the runtime dependencies; requirements-dev.lock: those
# plus the dev extra, constrained to requirements.lock's versions. Existing pins are kept (uv
# prefers the versions already in an output file); a pin changed in pyproject.toml moves only what
# it must. PyPI comes first, so each pin carries the hashes of all its files (every platform and
# Python); then this machine's pip.conf sources (local indexes, wheel folder, constraints), if any.
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --generate-hashes --python-version 3.11 \
	--index-strategy unsafe-best-match --index https://pypi.org/simple \
	$(addprefix --index file://,$(wildcard /opt/pypi/simple /opt/pypi-more/simple)) \
	$(addprefix --find-links ,$(wildcard /opt/wheels)) \
	$(addprefix -c ,$(wildcard /etc/xdg/pip/constraints.txt)) \
	--custom-compile-command "make lock" --quiet

lock: $(STAMP) ## re-pin requirements.lock, requirements-dev.lock and requirements-cluster.lock (after changing pyproject.toml)
	$(UV_COMPILE) -o requirements.lock
	$(UV_COMPILE) --extra dev -c requirements.lock -o requirements-dev.lock
	$(UV_COMPILE) --extra cluster -c requirements.lock -o requirements-cluster.lock

clean: ## remove the virtual environments and local data
	rm -rf $(VENV) .venv-llm .venv-cluster data evals/reports tests/js/node_modules ui/node_modules ui/dist
