# PetSage API. `make run` serves it locally, `make test` checks everything.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory
# The repository root: sam build runs build-<LogicalId> from a scratch directory.
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

PY          := .venv/bin/python
SAM         := .tools/sam/bin/sam
CHECKOV     := .tools/checkov/bin/checkov
PORT        ?= 3000
CONFIG_ENV  ?= dev
export SAM_CLI_TELEMETRY := 0

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# --- environments -------------------------------------------------------------------------
# One lock, uv.lock, resolves every dependency group of pyproject.toml, each file hash-checked.
# uv installs them: the groups that agree into .venv (`make run` only what serving needs), and
# each tool whose pins conflict with the rest (pyproject.toml says which) into .tools/<group>.
# uv itself is pinned here and in pyproject.toml (required-version); the Python is CPython
# 3.13, the Lambda runtime's (scripts/find-python313 finds it, or says what to install).
UV_VERSION := 0.13.8
UV := .tools/uv/bin/uv
export UV_PYTHON_DOWNLOADS := never
SYNC = UV_PYTHON=$$(scripts/find-python313) UV_PROJECT_ENVIRONMENT=$(1) $(UV) sync --frozen --quiet $(2)

$(UV):
	@py=$$(scripts/find-python313) && $$py -m venv .tools/uv
	@.tools/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.serve: uv.lock | $(UV)
	@echo "--- installing what make run needs into .venv (uv.lock, group serve)"
	@$(call SYNC,.venv,--inexact --only-group serve)
	@touch $@

.venv/.dev: uv.lock | $(UV)
	@echo "--- installing the development tools and test libraries into .venv (uv.lock, group dev)"
	@$(call SYNC,.venv,)
	@touch $@ .venv/.serve

.tools/%/.installed: uv.lock | $(UV)
	@echo "--- installing $* into .tools/$* (uv.lock, group $*)"
	@$(call SYNC,.tools/$*,--only-group $*)
	@touch $@

.PHONY: install
install: .venv/.dev .tools/sam/.installed .tools/checkov/.installed .tools/emulator/.installed ## Install every environment from uv.lock

# `make lock` after editing pyproject.toml's groups: uv.lock, and the API function's export that
# its build installs (hash-pinned, for pip in SAM's build image); `make lint` checks both.
EXPORT = $(UV) export --frozen --no-emit-project --no-header --quiet
.PHONY: lock
lock: | $(UV) ## Re-resolve pyproject.toml's groups into uv.lock and the functions' requirements
	UV_PYTHON=$$(scripts/find-python313) $(UV) lock
	$(EXPORT) --only-group api -o requirements.txt

# --- everyday -----------------------------------------------------------------------------

.PHONY: run
run: .venv/.serve ## Serve the API at http://127.0.0.1:$(PORT) without Docker
	$(PY) -m local_api --port $(PORT)

# make invoke EVENT=events/health.json [FUNCTION=LogicalId] [ENV="KEY=VALUE ..."] [ENV_VARS=env.json]
# [REPEAT=3]: EVENT=- reads standard input, no EVENT sends {}. Only the response is on stdout.
.PHONY: invoke
invoke: .venv/.dev ## Run the built function once under AWS's runtime client, like sam local invoke
	@$(PY) -m local_api.invoke $(if $(EVENT),--event '$(EVENT)') $(if $(FUNCTION),--function '$(FUNCTION)') \
		$(foreach assignment,$(ENV),--env '$(assignment)') $(if $(ENV_VARS),--env-vars '$(ENV_VARS)') \
		$(if $(REPEAT),--repeat '$(REPEAT)') $(if $(INVOKE_BUILD_DIR),--build-dir '$(INVOKE_BUILD_DIR)')

# Every kind of test, at a small size, on both cores; the long runs are the targets below.
.PHONY: test
test: install lint build ## Lint, validate and build the template, then run every test
	$(PY) -m pytest -n 2

.PHONY: lint
lint: .venv/.dev .tools/sam/.installed .tools/checkov/.installed ## ruff, mypy, bandit, cfn-lint, checkov, sam validate, the lock
	$(UV) lock --check --quiet
	@$(EXPORT) --only-group api | diff -q - requirements.txt >/dev/null || { echo "requirements.txt is stale: make lock"; exit 1; }
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy functions/api functions/deploy_hooks local_api scripts tests bench canary tools
	.venv/bin/bandit -c pyproject.toml -r functions local_api scripts canary tools -q
	@# The nested operations templates are linted on their own: neither cfn-lint nor sam validate
	@# reads a nested application's resources from its parent.
	.venv/bin/cfn-lint template.yaml operations/*.yaml -a cfn_lint_serverless.rules
	@# Skips are per resource, each with its reason, in the templates (Metadata: checkov: skip).
	$(CHECKOV) -f template.yaml $(addprefix -f ,$(wildcard operations/*.yaml)) --framework cloudformation --compact --quiet --skip-download
	$(SAM) validate --lint

# Not cached: SAM's cache key covers each function's folder and this Makefile, not the build script.
.PHONY: build
build: .tools/sam/.installed ## sam build: the arm64 Lambda artifacts in .aws-sam/build
	py=$$(scripts/find-python313) && PATH="$$(dirname $$py):$$PATH" $(SAM) build --no-cached --parallel

# sam build's makefile builder (template.yaml, Metadata) calls these with ARTIFACTS_DIR set, from
# a scratch directory, on the host or in SAM's python3.13 build image (`--use-container`, where
# this repository is mounted read-only and HOME may not be writable). They need nothing but a
# CPython 3.13 with pip: the one SAM found on PATH, or pyenv's (scripts/find-python313).
BUILD_ARCH ?= arm64
BUILD = py=$$($(ROOT)/scripts/find-python313) && "$$py" $(ROOT)/scripts/build_function.py --arch $(BUILD_ARCH)

.PHONY: build-HealthFunction
build-HealthFunction:
	$(BUILD) $(ROOT)/functions/api $(ROOT)/requirements.txt "$(ARTIFACTS_DIR)"

# --- the long runs (CI runs them too) ------------------------------------------------------

.PHONY: bench
bench: .venv/.dev ## Cold start, memory, warm latency, size against peers: a table, docs/bench.svg (RUNS=15)
	$(PY) -m bench.bench --runs $(or $(RUNS),15)

.PHONY: fuzz
fuzz: .venv/.dev ## Fuzz the function with 150,000 random events, a new seed each run
	PETSAGE_HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/adversarial -p no:xdist --hypothesis-show-statistics

.PHONY: soak
soak: .venv/.dev ## 100,000 warm invocations, then 20,000 requests 32 at a time on loopback
	PETSAGE_SOAK_INVOCATIONS=100000 PETSAGE_SOAK_REQUESTS=20000 $(PY) -m pytest tests/soak -p no:xdist -v

# mutmut over functions/api with the unit and adversarial tests; fails when a module kills under
# 90 % of the mutants a test can run and tell apart (docs/testing.md). JOBS=1 leaves a core free.
.PHONY: mutation
mutation: .venv/.dev ## Mutation testing of functions/api: killed/survived per module, >= 90 % each
	$(PY) -m scripts.mutation $(if $(JOBS),--jobs $(JOBS))

# Three steps: check the configuration, the credentials and the account (one line saying what to
# fix, before a minute of building), build, deploy (scripts/deploy.py, docs/deploying.md).
# CONFIRM=false deploys without asking to confirm the change set, for pipelines.
.PHONY: deploy
deploy: .venv/.dev .tools/sam/.installed ## Check, build, sam deploy --config-env $(CONFIG_ENV) (PARAMS="K=V ..." adds overrides)
	@$(PY) -m scripts.deploy --config-env $(CONFIG_ENV) --preflight $(PARAMS)
	@$(MAKE) build
	$(PY) -m scripts.deploy --config-env $(CONFIG_ENV) $(if $(CONFIRM),--confirm $(CONFIRM)) $(PARAMS)
	@# Stack name and region come from samconfig.toml's [$(CONFIG_ENV).global.parameters].
	$(SAM) list stack-outputs --config-env $(CONFIG_ENV) --output table

# The deploy path end to end on MiniStack, a loopback AWS emulator: the real `make deploy`, checked
# after each (scripts/rehearse.py). UPGRADE_FROM=REV: that revision's make deploy creates the stack.
.PHONY: rehearse
rehearse: .venv/.dev .tools/sam/.installed .tools/emulator/.installed ## Rehearse make deploy on a local AWS emulator
	$(PY) -m scripts.rehearse $(if $(UPGRADE_FROM),--upgrade-from '$(UPGRADE_FROM)')

# --- generated files ------------------------------------------------------------------------

.PHONY: canary
canary: .venv/.dev ## Copy canary/api_canary.py into operations/monitoring.yaml as the canary's inline script
	$(PY) scripts/embed_canary.py

.PHONY: openapi
openapi: .venv/.serve ## Regenerate openapi.json and the README's table of routes from the code
	$(PY) scripts/generate_openapi.py

.PHONY: format
format: .venv/.dev ## Apply ruff's formatting and safe fixes
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

.PHONY: clean
clean: ## Remove build output and caches (keeps the environments)
	@if [ -d bench-results ]; then chmod -R u+w bench-results; fi
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache test-artifacts bench-results .mutation
	find . -name __pycache__ -not -path './.venv/*' -not -path './.tools/*' -prune -exec rm -rf {} +
