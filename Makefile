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
MINISTACK_VENV := .tools/ministack
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
# Each environment installs its hash-pinned lock file (`make lock` writes them): a changed or
# substituted wheel fails the install. The first `make run` / `make test` creates them.

# $(call venv,DIR,LOCK,WHAT,HOW LONG): a CPython 3.13 virtual environment with LOCK installed.
define venv
	@test -x $(1)/bin/python || { py=$$($(FIND_PY313)) && $$py -m venv $(1); }
	@echo "--- installing $(3) into $(1) from $(2) ($$(grep -c '^[a-z]' $(2)) pinned packages; $(4) the first time)"
	@$(1)/bin/python -m pip install --quiet --require-hashes --no-deps -r $(2)
	@touch $(1)/.installed
endef

$(VENV)/.installed: requirements.txt
	$(call venv,$(VENV),requirements.txt,the development tools and test libraries,about a minute)

$(SAM_VENV)/.installed: tools/requirements-sam.txt
	$(call venv,$(SAM_VENV),tools/requirements-sam.txt,SAM CLI,about 30 s)

$(CHECKOV_VENV)/.installed: tools/requirements-checkov.txt
	$(call venv,$(CHECKOV_VENV),tools/requirements-checkov.txt,checkov,about 30 s)

$(BENCH_VENV)/.installed: bench/requirements-tools.txt
	$(call venv,$(BENCH_VENV),bench/requirements-tools.txt,the benchmark's plotting library,about 20 s)

$(MINISTACK_VENV)/.installed: tools/requirements-ministack.txt
	$(call venv,$(MINISTACK_VENV),tools/requirements-ministack.txt,MiniStack (the local AWS emulator make rehearse deploys to),about 20 s)

ENVIRONMENTS := $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed $(BENCH_VENV)/.installed \
	$(MINISTACK_VENV)/.installed

# The environments are independent: installed side by side, their downloads overlap.
.PHONY: install
install: ## Create the virtual environments (CPython 3.13) from the hash-pinned lock files
	@$(MAKE) -j5 $(ENVIRONMENTS)

# uv resolves each requirements*.in into its lock with the whole closure and every file's hash;
# the function's for Lambda's platform (CPython 3.13, arm64), the others for any platform.
LOCK := $(VENV)/bin/uv pip compile --quiet --generate-hashes --python-version 3.13 --custom-compile-command "make lock"

.PHONY: lock
lock: $(VENV)/.installed ## Re-resolve every requirements*.in into its hash-pinned lock (after editing a pin)
	$(LOCK) --python-platform aarch64-manylinux2014 functions/api/requirements.in -o functions/api/requirements.txt
	$(LOCK) --python-platform aarch64-manylinux2014 functions/pre_traffic_hook/requirements.in -o functions/pre_traffic_hook/requirements.txt
	$(LOCK) --universal requirements.in -o requirements.txt
	$(LOCK) --universal tools/requirements-sam.in -o tools/requirements-sam.txt
	$(LOCK) --universal tools/requirements-checkov.in -o tools/requirements-checkov.txt
	$(LOCK) --universal tools/requirements-ministack.in -o tools/requirements-ministack.txt
	$(LOCK) --universal bench/requirements-tools.in -o bench/requirements-tools.txt
	$(LOCK) --universal bench/requirements-lambda.in -o bench/requirements-lambda.txt
	$(LOCK) --universal bench/requirements.in -o bench/requirements.txt

# --- everyday -----------------------------------------------------------------------------

.PHONY: run
run: $(VENV)/.installed ## Serve the API at http://127.0.0.1:$(PORT) without Docker
	$(PY) -m local_api --port $(PORT)

# make invoke EVENT=events/health.json [FUNCTION=LogicalId] [ENV="KEY=VALUE ..."] [ENV_VARS=env.json]
# [REPEAT=3]: EVENT=- reads standard input, no EVENT sends {}. Only the response is on stdout.
.PHONY: invoke
invoke: $(VENV)/.installed ## Run the built function once under AWS's runtime client, like sam local invoke
	@$(PY) -m local_api.invoke $(if $(EVENT),--event '$(EVENT)') $(if $(FUNCTION),--function '$(FUNCTION)') \
		$(foreach assignment,$(ENV),--env '$(assignment)') $(if $(ENV_VARS),--env-vars '$(ENV_VARS)') \
		$(if $(REPEAT),--repeat '$(REPEAT)') $(if $(INVOKE_BUILD_DIR),--build-dir '$(INVOKE_BUILD_DIR)')

.PHONY: test
test: install lint build ## Lint, validate and build the template, then run every test
	$(PY) -m pytest

.PHONY: lint
lint: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed ## ruff, mypy, bandit, cfn-lint (+ serverless rules), checkov, sam validate --lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy functions/api functions/pre_traffic_hook local_api scripts tests bench canary tools/emulator
	$(VENV)/bin/bandit -r functions local_api scripts canary tools/emulator -q
	@# The nested operations templates are linted on their own: neither cfn-lint nor sam validate
	@# reads a nested application's resources from its parent.
	$(VENV)/bin/cfn-lint template.yaml operations/*.yaml -a cfn_lint_serverless.rules
	@# Skips are per resource, each with its reason, in the templates (Metadata: checkov: skip).
	@# --skip-download: no call to Prisma Cloud (offline, and no guideline links needed).
	$(CHECKOV) -f template.yaml --framework cloudformation --compact --quiet --skip-download
	$(CHECKOV) -d operations --framework cloudformation --compact --quiet --skip-download
	$(SAM) validate --lint

# Not cached: SAM's cache key covers functions/api and this Makefile, not the build script.
.PHONY: build
build: $(SAM_VENV)/.installed ## sam build: the arm64 Lambda artifacts in .aws-sam/build
	py=$$($(FIND_PY313)) && PATH="$$(dirname $$py):$$PATH" $(SAM) build --no-cached --parallel

# sam build's makefile builder (template.yaml, Metadata) calls these with ARTIFACTS_DIR set, from
# a scratch directory, on the host or in SAM's python3.13 build image (`--use-container`, where
# this repository is mounted read-only and HOME may not be writable). They need nothing but a
# CPython 3.13 with pip: the one SAM found on PATH, or pyenv's (scripts/find-python313).
BUILD_ARCH ?= arm64
BUILD_FUNCTION = py=$$($(ROOT)/scripts/find-python313) && "$$py" $(ROOT)/scripts/build_function.py --arch $(BUILD_ARCH)

.PHONY: build-HealthFunction
build-HealthFunction:
	$(BUILD_FUNCTION) --function api "$(ARTIFACTS_DIR)"

.PHONY: build-PreTrafficHookFunction
build-PreTrafficHookFunction:
	$(BUILD_FUNCTION) --function pre_traffic_hook "$(ARTIFACTS_DIR)"

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

# mutmut (pinned in requirements.in) over functions/api with tests/unit and tests/adversarial:
# progress on stderr, the table per module on stdout, exit 1 when any module kills under 90 % of
# its non-equivalent mutants (scripts/mutation_equivalents.toml and `# pragma: no mutate` say which
# are equivalent, and why). Working files in .mutation/ (scripts/mutation.py says why). JOBS=1
# leaves a core free; ~30 min on 2 cores.
.PHONY: mutation
mutation: $(VENV)/.installed $(SAM_VENV)/.installed ## Mutation testing: killed/survived per module of functions/api, >= 90 % each (not in make test)
	$(PY) -m scripts.mutation $(if $(JOBS),--jobs $(JOBS))

.PHONY: soak
soak: $(VENV)/.installed ## 100,000 warm invocations, then 20,000 requests 32 at a time on loopback
	PETSAGE_SOAK_INVOCATIONS=100000 PETSAGE_SOAK_REQUESTS=20000 $(PY) -m pytest tests/soak -v

# Three steps: check the configuration and find credentials (one line saying what to set when
# there are none, before a minute of building), build, deploy. Modules run with -m from the
# repository root, so scripts/ imports local_api like the tests do.
.PHONY: deploy
deploy: $(VENV)/.installed $(SAM_VENV)/.installed ## Check, build, sam deploy --config-env $(CONFIG_ENV) (PARAMS="K=V ..." adds overrides), print the URLs
	@$(PY) -m scripts.deploy --config-env $(CONFIG_ENV) --preflight $(PARAMS)
	@$(MAKE) build
	$(PY) -m scripts.deploy --config-env $(CONFIG_ENV) $(PARAMS)
	@# Stack name and region come from samconfig.toml's [$(CONFIG_ENV).global.parameters].
	$(SAM) list stack-outputs --config-env $(CONFIG_ENV) --output table

# The deploy path end to end on MiniStack, a local AWS emulator on 127.0.0.1 (its own
# hash-locked environment, no Docker): the real `make deploy` five times, checked after each
# (scripts/rehearse.py, docs/deploying.md). A scratch copy of the repository takes the edits.
# UPGRADE_FROM=REV: the stack is created by that revision's make deploy first, then upgraded.
.PHONY: rehearse
rehearse: $(VENV)/.installed $(SAM_VENV)/.installed $(MINISTACK_VENV)/.installed ## Rehearse make deploy on a local AWS emulator: create, new code, new config, strategy, operations
	$(PY) -m scripts.rehearse $(if $(UPGRADE_FROM),--upgrade-from '$(UPGRADE_FROM)')

.PHONY: canary
canary: $(VENV)/.installed ## Copy canary/api_canary.py into operations/monitoring.yaml as the canary's inline script
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
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache test-artifacts bench-results .mutation
	find . -name __pycache__ -not -path './.venv/*' -not -path './.tools/*' -prune -exec rm -rf {} +
