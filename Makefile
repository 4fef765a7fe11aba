# One entry point for people and CI. Every target sets up its own virtualenv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

# Dify's own engine, for the differential test: its own Python 3.12 venv inside ours (so
# every tool that skips .venv skips it). pyenv provides 3.12 where python3.12 is not found.
GRAPHON_VENV := $(VENV)/graphon
GRAPHON_STAMP := $(GRAPHON_VENV)/.installed
PYTHON312 ?= $(or $(shell ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12.*/bin/python3.12 2>/dev/null | tail -1),$(shell command -v python3.12))

# Debian's Chromium, which Playwright drives for the run viewer's tests (tests/browser):
# installed from the distribution when missing, never downloaded by Playwright itself.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run test test-fast lint typecheck bench synth clean graphon differential chromium

$(STAMP): requirements.txt requirements-dev.txt functions/requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	# The `stepcanvas` command (tools/cli), run from this checkout.
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

## Start the whole system locally on http://127.0.0.1:8080 (moto stands in for AWS).
run: $(STAMP)
	$(BIN)/python -m local

## The whole suite: lint, types, unit, integration, HTTP, CDK, conformance, Dify parity.
test: $(STAMP) $(GRAPHON_STAMP) $(CHROMIUM) lint typecheck
	$(BIN)/python -m pytest -n 2 --dist loadgroup --ignore=tests/fuzz
	# Under xdist schemathesis runs each operation's cases in one item and barely any:
	# the fuzz run is a plain one (~2,500 requests in about a minute).
	$(BIN)/python -m pytest -p no:xdist tests/fuzz

## The Dify parity test alone, on many more workflows (N of them, from SEED).
differential: $(STAMP) $(GRAPHON_STAMP)
	DIFFERENTIAL_WORKFLOWS=$(or $(N),1000) DIFFERENTIAL_SEED=$(or $(SEED),0) \
		$(BIN)/python -m pytest -s tests/differential

graphon: $(GRAPHON_STAMP)

$(GRAPHON_STAMP): $(STAMP) tests/differential/requirements.txt
	@test -n "$(PYTHON312)" || { echo "Python 3.12 is needed for Dify's engine (pyenv install 3.12)"; exit 1; }
	test -x $(GRAPHON_VENV)/bin/python || $(PYTHON312) -m venv $(GRAPHON_VENV)
	$(GRAPHON_VENV)/bin/pip install --quiet -r tests/differential/requirements.txt
	touch $(GRAPHON_STAMP)

chromium: $(CHROMIUM)

$(CHROMIUM):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup tests/unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

synth: $(STAMP)
	$(BIN)/python app.py

clean:
	rm -rf $(VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache
