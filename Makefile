# PetSage API health function. `make run` serves it locally, `make test` checks everything.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory
# The repository root: sam build runs build-HealthFunction from a scratch directory.
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

VENV        := .venv
PY          := $(VENV)/bin/python
SAM_VENV    := .tools/sam
CHECKOV_VENV := .tools/checkov
BENCH_VENV  := .tools/bench
RUNS        ?= 15
SAM         := $(SAM_VENV)/bin/sam
CHECKOV     := $(CHECKOV_VENV)/bin/checkov
PORT        ?= 3000
CONFIG_ENV  ?= dev
export SAM_CLI_TELEMETRY := 0

# CPython 3.13, the Lambda runtime's version: scripts/find-python313 looks on PATH, then in
# pyenv's versions, and says what to install when there is none.
FIND_PY313 := scripts/find-python313

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# --- environments -------------------------------------------------------------------------

$(VENV)/.installed: requirements.txt functions/health/requirements.txt
	@test -x $(PY) || { py=$$($(FIND_PY313)) && $$py -m venv $(VENV); }
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(SAM_VENV)/.installed: tools/requirements-sam.txt
	@test -x $(SAM_VENV)/bin/python || { py=$$($(FIND_PY313)) && $$py -m venv $(SAM_VENV); }
	$(SAM_VENV)/bin/python -m pip install --quiet -r tools/requirements-sam.txt
	@touch $@

$(CHECKOV_VENV)/.installed: tools/requirements-checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || { py=$$($(FIND_PY313)) && $$py -m venv $(CHECKOV_VENV); }
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r tools/requirements-checkov.txt
	@touch $@

$(BENCH_VENV)/.installed: bench/requirements-runtime.txt
	@test -x $(BENCH_VENV)/bin/python || { py=$$($(FIND_PY313)) && $$py -m venv $(BENCH_VENV); }
	$(BENCH_VENV)/bin/python -m pip install --quiet -r bench/requirements-runtime.txt
	@touch $@

.PHONY: install
install: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed $(BENCH_VENV)/.installed ## Create the virtual environments (CPython 3.13) with the pinned tools

# --- everyday -----------------------------------------------------------------------------

.PHONY: run
run: $(VENV)/.installed ## Serve the API at http://127.0.0.1:$(PORT) without Docker
	$(PY) -m local_api --port $(PORT)

.PHONY: test
test: install lint build ## Lint, validate and build the template, then run every test
	$(PY) -m pytest

.PHONY: lint
lint: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed ## ruff, mypy, bandit, cfn-lint (+ serverless rules), checkov, sam validate --lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy functions/health local_api scripts tests bench canary
	$(VENV)/bin/bandit -r functions local_api scripts canary -q
	$(VENV)/bin/cfn-lint template.yaml -a cfn_lint_serverless.rules
	@# Skips are per resource, each with its reason, in template.yaml (Metadata: checkov: skip).
	@# --skip-download: no call to Prisma Cloud (offline, and no guideline links needed).
	$(CHECKOV) -f template.yaml --framework cloudformation --compact --quiet --skip-download
	$(SAM) validate --lint

# Not cached: SAM's cache key covers functions/health and this Makefile, not the build script.
.PHONY: build
build: $(VENV)/.installed $(SAM_VENV)/.installed ## sam build: the arm64 Lambda artifact in .aws-sam/build
	py=$$($(FIND_PY313)) && PATH="$$(dirname $$py):$$PATH" $(SAM) build --no-cached --parallel

# sam build's makefile builder (template.yaml, Metadata) calls this with ARTIFACTS_DIR set.
.PHONY: build-HealthFunction
build-HealthFunction:
	@test -x $(ROOT)/$(PY) || { echo "no $(ROOT)/$(PY): run make build, which installs it" >&2; exit 1; }
	$(ROOT)/$(PY) $(ROOT)/scripts/build_function.py --arch arm64 "$(ARTIFACTS_DIR)"

# The children get template.yaml's environment: scripts/template_functions.py reads it with
# cfn-lint's loader in .venv (the bench venv has no YAML parser) and pipes it in. Progress goes
# to stderr; stdout carries only the tables. The chart of the last run is kept in docs/.
.PHONY: bench
bench: $(VENV)/.installed $(BENCH_VENV)/.installed ## Cold start, RSS, warm latency, size vs. peers: table + bench-results/bench.svg (RUNS=15; not in make test)
	@$(PY) -m scripts.template_functions | $(BENCH_VENV)/bin/python -m bench.bench --runs $(RUNS) --template-functions -
	@mkdir -p docs
	@cp bench-results/results.json docs/bench-results.json
	@cp bench-results/bench.svg docs/bench.svg
	@echo "bench: copied to docs/bench-results.json and docs/bench.svg" >&2

.PHONY: fuzz
fuzz: $(VENV)/.installed ## Fuzz the handler with random events: 10x make test's examples, a new seed each run
	PETSAGE_HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/adversarial --hypothesis-show-statistics

.PHONY: soak
soak: $(VENV)/.installed ## 100,000 warm invocations, then 20,000 requests 32 at a time on loopback
	PETSAGE_SOAK_INVOCATIONS=100000 PETSAGE_SOAK_REQUESTS=20000 $(PY) -m pytest tests/soak -v

.PHONY: deploy
deploy: build ## sam deploy --config-env $(CONFIG_ENV), then print the URLs
	$(SAM) deploy --config-env $(CONFIG_ENV)
	@# Stack name and region come from samconfig.toml's [$(CONFIG_ENV).global.parameters].
	$(SAM) list stack-outputs --config-env $(CONFIG_ENV) --output table

.PHONY: canary
canary: $(VENV)/.installed ## Copy canary/api_canary.py into template.yaml as the canary's inline script
	$(PY) scripts/embed_canary.py

.PHONY: openapi
openapi: $(VENV)/.installed ## Regenerate the committed openapi.json from the routes
	$(PY) scripts/generate_openapi.py openapi.json

.PHONY: format
format: $(VENV)/.installed ## Apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: clean
clean: ## Remove build output and caches (keeps the virtual environments)
	@if [ -d bench-results ]; then chmod -R u+w bench-results; fi
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache test-artifacts bench-results
	find . -name __pycache__ -not -path './.venv/*' -not -path './.tools/*' -prune -exec rm -rf {} +
