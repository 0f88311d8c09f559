# W.W.H.D. agent server. `make serve` and `make test` do all of their own set-up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 2024
export LANGGRAPH_CLI_NO_ANALYTICS := 1
export LANGGRAPH_NO_VERSION_CHECK := true

.PHONY: help install serve ingest test test-fast lint eval train-router bench local-llm lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

install: $(STAMP) ## create .venv with the pinned dependencies

serve: $(STAMP) ## run the server on 127.0.0.1:$PORT (ingests the corpus on first run)
	$(BIN)/wwhd serve --port $(PORT)

ingest: $(STAMP) ## sync the bundled corpus into the collection (incremental)
	$(BIN)/wwhd ingest

tests/js/node_modules: tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

local-llm: $(STAMP) ## provision and run the local model server (llama.cpp + Qwen2.5 0.5B)
	$(BIN)/python -m wwhd.local_llm serve

test: $(STAMP) tests/js/node_modules ## lint, then every test (unit, integration, llm, eval gate)
	$(BIN)/ruff check .
	$(BIN)/python -m wwhd.local_llm provision
	$(BIN)/python -m pytest -ra

test-fast: $(STAMP) ## unit tests only
	$(BIN)/python -m pytest -ra -m "not integration and not llm"

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .

eval: $(STAMP) ## score the router (understanding test split) and the answers; writes evals/reports/
	$(BIN)/wwhd eval-router
	$(BIN)/wwhd eval

train-router: $(STAMP) ## retrain the router's classifier from evals/understanding/data (graphs/model/)
	$(BIN)/wwhd train-router

bench: $(STAMP) ## benchmarks: router latency, then concurrent threads x turns against a server
	$(BIN)/python -m evals.understanding.bench
	$(BIN)/python -m evals.bench

lock: ## re-pin requirements.lock from the current .venv (after changing pyproject.toml)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^wwhd' > requirements.lock

clean: ## remove the virtual environments and local data
	rm -rf $(VENV) .venv-llm data evals/reports tests/js/node_modules
