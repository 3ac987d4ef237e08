#!/usr/bin/env bash
# Serve the promoted model behind HAProxy on SCORING_HOST:SCORING_PORT (POST /invocations)
# and follow promotions live: `python -m serving` starts HAProxy in the foreground as its
# child, runs MLflow's own scoring app for the version @IRIS_MODEL_ALIAS or the
# IRIS_MODEL_STAGE stage points at (whichever moved last; it keeps the two in step), and
# switches to each newly promoted version through HAProxy's runtime API with zero failed
# requests. See docs/SERVING.md.
# Environment: MLFLOW_TRACKING_URI, IRIS_MODEL_NAME, IRIS_MODEL_ALIAS, IRIS_MODEL_STAGE,
# IRIS_LOG_STORE_URL, SCORING_HOST (127.0.0.1), SCORING_PORT (5001), SCORING_MAX_BODY,
# SCORING_TOKEN, SCORING_METRICS_HOST/PORT (127.0.0.1:8404), SCORING_PROCESSES (auto: one
# per usable core), SCORING_WORKERS (1), SERVING_POLL_SECONDS (2), SERVING_RUN_DIR.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$root/.venv/bin:$PATH:/usr/sbin"   # python, uvicorn, and Debian's haproxy
export SERVING_RUN_DIR="${SERVING_RUN_DIR:-$root/.run/serving}"

# shellcheck source=scripts/haproxy.sh
source "$root/scripts/haproxy.sh"
ensure_haproxy

exec python -m serving "$@"
