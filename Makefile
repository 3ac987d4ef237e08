# Thin wrappers; each target creates .venv on first use. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(BIN):$(PATH)

.PHONY: install up test train serve sidecar lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP)

up: $(STAMP)
	bash scripts/up.sh

test: $(STAMP)
	$(BIN)/python -m pytest

train: $(STAMP)
	MLFLOW_TRACKING_URI=$${MLFLOW_TRACKING_URI:-http://127.0.0.1:5000} mlflow run . --env-manager local

serve: $(STAMP)
	MLFLOW_TRACKING_URI=$${MLFLOW_TRACKING_URI:-http://127.0.0.1:5000} bash scripts/serve.sh

sidecar: $(STAMP)
	bash scripts/run-sidecar.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint docker/Dockerfile
	promtool check config prometheus/prometheus.yml
	promtool test rules prometheus/tests/alerts_test.yml prometheus/tests/rules_test.yml

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf .run .pytest_cache .ruff_cache
