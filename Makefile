# PetSage API health function. `make run` serves it locally, `make test` checks everything.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV        := .venv
PY          := $(VENV)/bin/python
SAM_VENV    := .tools/sam
CHECKOV_VENV := .tools/checkov
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

.PHONY: install
install: $(VENV)/.installed $(SAM_VENV)/.installed ## Create the virtual environments (CPython 3.13) with the pinned tools

# --- everyday -----------------------------------------------------------------------------

.PHONY: run
run: $(VENV)/.installed ## Serve the API at http://127.0.0.1:$(PORT) without Docker
	$(PY) -m local_api --port $(PORT)

.PHONY: test
test: install lint build ## Lint, validate and build the template, then run every test
	$(PY) -m pytest

.PHONY: lint
lint: $(VENV)/.installed $(SAM_VENV)/.installed ## ruff, mypy, cfn-lint, sam validate --lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy functions/health local_api scripts tests
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM) validate --lint

.PHONY: build
build: $(SAM_VENV)/.installed ## sam build: the arm64 Lambda artifact in .aws-sam/build
	py=$$($(FIND_PY313)) && PATH="$$(dirname $$py):$$PATH" $(SAM) build --cached --parallel

.PHONY: fuzz
fuzz: $(VENV)/.installed ## Fuzz the handler with random events: 10x make test's examples, a new seed each run
	PETSAGE_HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/adversarial --hypothesis-show-statistics

.PHONY: soak
soak: $(VENV)/.installed ## 100,000 warm invocations, then 20,000 requests 32 at a time on loopback
	PETSAGE_SOAK_INVOCATIONS=100000 PETSAGE_SOAK_REQUESTS=20000 $(PY) -m pytest tests/soak -v

.PHONY: deploy
deploy: build ## sam deploy --config-env $(CONFIG_ENV), then print the URLs
	$(SAM) deploy --config-env $(CONFIG_ENV)

.PHONY: openapi
openapi: $(VENV)/.installed ## Regenerate the committed openapi.json from the routes
	$(PY) scripts/generate_openapi.py openapi.json

.PHONY: format
format: $(VENV)/.installed ## Apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: clean
clean: ## Remove build output and caches (keeps the virtual environments)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache test-artifacts
	find . -name __pycache__ -not -path './.venv/*' -not -path './.tools/*' -prune -exec rm -rf {} +
