#!/usr/bin/env bash
# Serve the promoted model on SCORING_HOST:SCORING_PORT (POST /invocations) and follow
# promotions live: `python -m serving` runs MLflow's own scoring server for the version
# @IRIS_MODEL_ALIAS points at (or, with IRIS_MODEL_STAGE=Production, the stage's newest)
# and switches to each newly promoted version with zero failed requests. See docs/SERVING.md.
# Environment: MLFLOW_TRACKING_URI, IRIS_MODEL_NAME, IRIS_MODEL_ALIAS, IRIS_MODEL_STAGE,
# IRIS_LOG_STORE_URL, SCORING_HOST (default 127.0.0.1), SCORING_PORT (default 5001),
# SCORING_WORKERS (default 1), SERVING_POLL_SECONDS (default 2), SERVING_RUN_DIR.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$root/.venv/bin:$PATH"   # python, and the uvicorn the supervisor starts
export SERVING_RUN_DIR="${SERVING_RUN_DIR:-$root/.run/serving}"

exec python -m serving "$@"
