#!/usr/bin/env bash
# The tracking server (tracking + registry + artifact proxy + UI), as the tracking image
# runs it and tests/e2e/test_stack_on_postgres.py runs it without Docker.
# Environment (each with its default):
#   MLFLOW_BACKEND_STORE_URI      sqlite:///$IRIS_STATE_DIR/mlflow.db; in Compose
#                                 postgresql+psycopg2://USER@postgres:5432/mlflow (the
#                                 password comes from PGPASSWORD, never from the URL;
#                                 psycopg2 because of mlflow#24592, see docs/DEPLOY.md)
#   MLFLOW_ARTIFACTS_DESTINATION  $IRIS_STATE_DIR/mlartifacts (the server proxies artifacts:
#                                 clients need no access to this folder)
#   TRACKING_HOST, TRACKING_PORT  127.0.0.1, 5000
#   MLFLOW_PROMETHEUS_DIR         $IRIS_STATE_DIR/.run/mlflow-prometheus, wiped at start;
#                                 /metrics (--expose-prometheus) is always on
#   TRACKING_WORKERS              MLflow's default when unset
#   MLFLOW_SERVER_ALLOWED_HOSTS   read by MLflow itself: Host headers besides localhost and
#                                 private addresses (Compose adds its service name)
# Extra arguments go to `mlflow server`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$root/.venv/bin:$PATH"   # the venv in a checkout; the image's is on PATH already

state_dir="${IRIS_STATE_DIR:-$root}"
mkdir -p "$state_dir"
backend="${MLFLOW_BACKEND_STORE_URI:-sqlite:///$state_dir/mlflow.db}"
artifacts="${MLFLOW_ARTIFACTS_DESTINATION:-$state_dir/mlartifacts}"
metrics_dir="${MLFLOW_PROMETHEUS_DIR:-$state_dir/.run/mlflow-prometheus}"

case "$metrics_dir" in
  "" | "/" | "$HOME" | "$root" | "$state_dir")
    echo "refusing to wipe MLFLOW_PROMETHEUS_DIR=$metrics_dir" >&2
    exit 2
    ;;
esac
# Multiprocess metric files from a previous run would be summed into this one's.
rm -rf -- "$metrics_dir"
mkdir -p -- "$metrics_dir"
# These are flags here; MLflow would also read the variables itself, and two sources for
# one setting is one too many.
unset MLFLOW_BACKEND_STORE_URI MLFLOW_ARTIFACTS_DESTINATION MLFLOW_EXPOSE_PROMETHEUS

args=(
  --host "${TRACKING_HOST:-127.0.0.1}"
  --port "${TRACKING_PORT:-5000}"
  --backend-store-uri "$backend"
  --artifacts-destination "$artifacts"
  --expose-prometheus "$metrics_dir"
)
if [[ -n "${TRACKING_WORKERS:-}" ]]; then
  args+=(--workers "$TRACKING_WORKERS")
fi

# The URI without its user info, so a password put in it never reaches a log.
shown="$backend"
[[ "$shown" == *://*@* ]] && shown="${shown%%://*}://${shown#*@}"
echo "tracking: mlflow server on ${TRACKING_HOST:-127.0.0.1}:${TRACKING_PORT:-5000}," \
  "backend $shown, artifacts $artifacts" >&2
exec mlflow server "${args[@]}" "$@"
