# One entry point for every check. `make test` and `make demo` install what they need themselves.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
NODE_INSTALLED := node_modules/.installed
CDK := npx --no-install cdk --no-notices

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
# The AWS SDK inside the CDK CLI warns that Node 20 support ends in 2027 (DESIGN: Node 20 is what this
# project runs on); that notice is not a problem of the checks.
export NODE_NO_WARNINGS := 1
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED := true
export JSII_DEPRECATED := quiet
# Tests and synth never need real credentials; these keep any stray call from reaching AWS.
TEST_ENV := AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing \
	AWS_DEFAULT_REGION=eu-west-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

.PHONY: help install browser lint typecheck unit synth cfn-lint test demo local bench mutants clean

help:
	@echo "make demo   - the whole flow on the local AWS emulator (installs first)"
	@echo "make test   - every check: ruff, mypy, pytest, cdk synth with cdk-nag, cfn-lint (installs first)"
	@echo "make local  - the emulator with every stack deployed, for your own scripts (Ctrl-C stops it)"
	@echo "make bench  - performance figures"
	@echo "make mutants - mutation score of the deployer and the config parser (slow; not in make test)"

$(INSTALLED): requirements.txt requirements-dev.txt requirements-ui.txt pipelines/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	@# setuptools warns about every editable install ("Editable installation ... folders with the same name
	@# as your package"): generic advice, not a problem of this install, so it is not printed.
	PYTHONWARNINGS="ignore:Editable installation" $(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

$(NODE_INSTALLED): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(INSTALLED) $(NODE_INSTALLED)

# Debian's chromium for the browser tests of `mlops ui` (Playwright drives it; it downloads no browser).
# Quick when present; installs it (as root, as CI runs) when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy stacks lambdas/deployer mlops_cli local pipelines app.py

# The unit tests run on both cores (pytest-xdist, one module per worker, so a module's fixtures are
# built once). The end-to-end tests deploy emulators with moto's process-wide state, so they run in
# processes of their own, two at once: the demo's modules (which share one played scenario) and the rest
# (each module deploys its own). Each prints its report when it ends (--output-sync); either failing
# fails the target.
E2E_DEMO := tests/e2e/test_demo_flow.py tests/e2e/test_traffic.py
E2E_REST := $(filter-out $(E2E_DEMO),$(sort $(wildcard tests/e2e/test_*.py)))
PYTEST_E2E := $(TEST_ENV) $(PY) -m pytest -p no:cacheprovider

unit: install browser
	HYPOTHESIS_PROFILE=repeatable $(TEST_ENV) $(PY) -m pytest -n 2 --dist loadfile tests/unit
	$(MAKE) --no-print-directory -j2 --output-sync=target e2e-demo e2e-rest

.PHONY: e2e-demo e2e-rest
e2e-demo: install browser
	$(PYTEST_E2E) $(E2E_DEMO)
e2e-rest: install browser
	$(PYTEST_E2E) $(E2E_REST)

# Real CDK CLI synth of the example config (every stack; `synth` has no --all); cdk-nag findings are
# errors, so they fail this step. With several stacks the CLI always ends with two informational lines
# ("Successfully synthesized to ..." and "Supply a stack id (...) to display its template", which reads
# like a missing argument); they are dropped by exact prefix and replaced by one summary line; every other
# line (warnings, errors, cdk-nag findings) passes, and the CLI's exit status decides (pipefail).
SYNTH_INFO := -e '^Successfully synthesized to ' -e '^Supply a stack id '
synth: install
	rm -rf cdk.out
	$(TEST_ENV) $(CDK) synth --quiet 2>&1 | { grep -v $(SYNTH_INFO) || test $$? -eq 1; }
	@echo "cdk synth: $$(ls cdk.out/*.template.json | wc -l) templates in cdk.out (cdk-nag on)"
	@test -n "$$(ls cdk.out/*.template.json)"

cfn-lint: synth
	$(VENV)/bin/cfn-lint -- cdk.out/*.template.json

test: lint typecheck unit synth cfn-lint
	@echo "make test: all checks passed"

# The whole flow on the local emulator: deploy every stack with the CDK CLI, play the scenario, exit.
demo: install
	$(TEST_ENV) $(PY) -m local.demo --config config/example.yaml

# The emulator with every stack deployed, in the foreground (Ctrl-C stops it); prints its state file.
local: install
	$(TEST_ENV) $(VENV)/bin/mlops local up --config config/example.yaml

bench: install
	$(TEST_ENV) $(PY) -m bench

# Mutation testing with the pinned mutmut (config in pyproject.toml): mutates lambdas/deployer/ and
# stacks/config.py, judged by their fast unit tests only; prints the score and the survivors.
# Slow (hours here, see docs/mutants.md); two workers; not part of `make test`. The property test explores
# 60 histories per mutant instead of 300 (it runs for every surviving deployer mutant).
# `make mutants SAMPLE=500` judges a seeded uniform random sample instead and prints the estimated score
# with its 95% interval (24 minutes from scratch here); it keeps mutants/ so verdicts add up across runs.
MUTMUT_ENV := HYPOTHESIS_PROFILE=repeatable MUTANT_PROPERTY_EXAMPLES=60 $(TEST_ENV)
SAMPLE ?=
mutants: install
	ln -sfn lambdas/deployer deployer
ifeq ($(SAMPLE),)
	rm -rf mutants
	$(MUTMUT_ENV) $(VENV)/bin/mutmut run --max-children 2 || { rm -f deployer; exit 1; }
	$(VENV)/bin/mutmut export-cicd-stats
	rm -f deployer
	$(PY) -m bench.mutation_score
else
	@# the first run generates every mutant (and judges one); the sample is drawn from all of them
	test -d mutants || $(MUTMUT_ENV) $(VENV)/bin/mutmut run --max-children 2 'stacks.config.x_load_config__mutmut_1'
	$(MUTMUT_ENV) $(PY) -m bench.mutation_sample $(SAMPLE) || { rm -f deployer; exit 1; }
	rm -f deployer
endif

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache mutants
