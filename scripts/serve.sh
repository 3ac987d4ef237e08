#!/usr/bin/env bash
# Serve the promoted model with MLflow's own scoring server (POST /invocations).
# Environment: MLFLOW_TRACKING_URI, IRIS_MODEL_NAME, IRIS_MODEL_ALIAS, IRIS_LOG_STORE_URL,
# SCORING_HOST (default 127.0.0.1), SCORING_PORT (default 5001), SCORING_WORKERS (default 1).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$root/.venv/bin:$PATH"   # mlflow, and uvicorn which it execs
model="models:/${IRIS_MODEL_NAME:-iris-classifier}@${IRIS_MODEL_ALIAS:-champion}"

exec mlflow models serve -m "$model" \
  -h "${SCORING_HOST:-127.0.0.1}" -p "${SCORING_PORT:-5001}" \
  -w "${SCORING_WORKERS:-1}" --env-manager local
