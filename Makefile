# Thin wrappers; each target creates .venv on first use. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(BIN):$(PATH)

.PHONY: install up test fuzz train serve sidecar batch lint bench clean deploy lock

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

# The long runs kept out of `make test` (over 10,000 schemathesis cases per store).
fuzz: $(STAMP)
	$(BIN)/python -m pytest -m full -s

train: $(STAMP)
	MLFLOW_TRACKING_URI=$${MLFLOW_TRACKING_URI:-http://127.0.0.1:5000} mlflow run . --env-manager local

serve: $(STAMP)
	MLFLOW_TRACKING_URI=$${MLFLOW_TRACKING_URI:-http://127.0.0.1:5000} bash scripts/serve.sh

sidecar: $(STAMP)
	bash scripts/run-sidecar.sh

# Batch scoring on Spark local[*] (needs Java 17+): make batch INPUT=rows.csv OUTPUT=.run/batch/out
# [MODEL_URI=models:/iris-classifier/3] [OVERWRITE=true]. See docs/BATCH.md.
INPUT ?= data/iris.csv
OUTPUT ?= .run/batch/out
MODEL_URI ?=
OVERWRITE ?= false
batch: $(STAMP)
	MLFLOW_TRACKING_URI=$${MLFLOW_TRACKING_URI:-http://127.0.0.1:5000} $(BIN)/python -m mlproject.batch \
		--input '$(INPUT)' --output '$(OUTPUT)' --model-uri '$(MODEL_URI)' --master 'local[*]' \
		--overwrite $(OVERWRITE)

# Static checks; .ci/run runs them before the suite. Compose renders with throwaway
# values for the secrets it requires (it checks the file, not a deployment).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m mypy
	$(BIN)/hadolint docker/Dockerfile
	$(BIN)/shellcheck --severity=warning scripts/*.sh docker/postgres/*.sh .ci/run
	POSTGRES_PASSWORD=lint SIDECAR_TOKEN=lint GRAFANA_ADMIN_PASSWORD=lint \
		$(BIN)/docker-compose --env-file /dev/null -f docker-compose.yml config --quiet
	$(BIN)/actionlint -no-color
	$(BIN)/bandit -c pyproject.toml -r . -q
	promtool check config prometheus/prometheus.yml
	promtool check config prometheus/prometheus.docker.yml
	promtool test rules prometheus/tests/alerts_test.yml prometheus/tests/rules_test.yml

# On a Docker host: build (or --pull) the images, `docker compose up --wait`, check every
# service, print the URLs. Options: make deploy DEPLOY_ARGS="--pull --tag v1.2.0", or
# DEPLOY_ARGS=--rollback. See scripts/deploy.sh --help and docs/DEPLOY.md.
deploy:
	bash scripts/deploy.sh $(DEPLOY_ARGS)

# Re-lock the runtime dependencies the images install and pip-audit checks.
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet 'uv>=0.4'
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" --quiet -o requirements.lock

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf .run .pytest_cache .ruff_cache
