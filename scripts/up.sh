#!/usr/bin/env bash
# `make up`: tracking server, a first champion if there is none, scoring (HAProxy in
# front of MLflow's scoring app) and sidecar, in the foreground. Ctrl-C or SIGTERM stops
# every process started here within 10 s.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$root/.venv/bin:$PATH:/usr/sbin"

# The scoring edge needs HAProxy: check (or install, as root on Debian) before anything starts.
# shellcheck source=scripts/haproxy.sh
source "$root/scripts/haproxy.sh"
ensure_haproxy

tracking_host="${TRACKING_HOST:-127.0.0.1}"
tracking_port="${TRACKING_PORT:-5000}"
export MLFLOW_TRACKING_URI="${MLFLOW_TRACKING_URI:-http://$tracking_host:$tracking_port}"
# Where the databases, artifacts and logs live (the repo by default).
state_dir="${IRIS_STATE_DIR:-$root}"
mkdir -p "$state_dir"
state_dir="$(cd "$state_dir" && pwd)"
export IRIS_LOG_STORE_URL="${IRIS_LOG_STORE_URL:-sqlite:///$state_dir/predictions.db}"
export SCORING_URL="${SCORING_URL:-http://127.0.0.1:${SCORING_PORT:-5001}}"
export IRIS_JOBS_DIR="${IRIS_JOBS_DIR:-$state_dir/retrain-jobs}"
export SERVING_RUN_DIR="${SERVING_RUN_DIR:-$state_dir/.run/serving}"
# Only the sidecar gets this (its start script wipes and creates it); the tracking
# server's --expose-prometheus manages a directory of its own.
sidecar_metrics_dir="${PROMETHEUS_MULTIPROC_DIR:-$state_dir/.run/prometheus-multiproc}"
unset PROMETHEUS_MULTIPROC_DIR prometheus_multiproc_dir
run_dir="$state_dir/.run"
mkdir -p "$run_dir/logs"
# shellcheck source=scripts/sidecar-token.sh
source "$root/scripts/sidecar-token.sh"
ensure_sidecar_token "$state_dir"

pids=()
start() {  # start NAME COMMAND...: own process group, output to .run/logs/NAME.log
  local name="$1"
  shift
  setsid "$@" >"$run_dir/logs/$name.log" 2>&1 &
  pids+=("$!")
  echo "started $name (pid $!, log $run_dir/logs/$name.log)"
}

stop_all() {
  trap - INT TERM EXIT
  echo
  echo "stopping ${#pids[@]} process group(s)..."
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for _ in $(seq 1 80); do  # up to 8 s of grace, then force
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "stopped."
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

wait_http() {  # wait_http NAME URL SECONDS
  local name="$1" url="$2" seconds="$3"
  for _ in $(seq 1 $((seconds * 5))); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "$name did not answer $url within ${seconds}s; see .run/logs/$name.log" >&2
  tail -n 30 "$run_dir/logs/$name.log" >&2 || true
  return 1
}

start tracking mlflow server --host "$tracking_host" --port "$tracking_port" \
  --backend-store-uri "${MLFLOW_BACKEND_STORE_URI:-sqlite:///$state_dir/mlflow.db}" \
  --artifacts-destination "$state_dir/mlartifacts" \
  --expose-prometheus "$run_dir/mlflow-prometheus"
wait_http tracking "$MLFLOW_TRACKING_URI/health" 120

if ! python -m mlproject.registry champion >/dev/null 2>&1; then
  echo "no champion in the registry yet: training one (mlflow run . --env-manager local)"
  mlflow run "$root" --env-manager local
fi
echo "champion: ${IRIS_MODEL_NAME:-iris-classifier} version $(python -m mlproject.registry champion)"

start scoring bash scripts/serve.sh
start sidecar env PROMETHEUS_MULTIPROC_DIR="$sidecar_metrics_dir" bash scripts/run-sidecar.sh
wait_http scoring "$SCORING_URL/ping" 180
wait_http sidecar "http://${SIDECAR_BIND:-127.0.0.1:8000}/health" 60 || true

cat <<EOF_URLS

  tracking UI   $MLFLOW_TRACKING_URI
  scoring       $SCORING_URL/invocations   (POST, through HAProxy${SCORING_TOKEN:+; needs Authorization: Bearer \$SCORING_TOKEN})
  edge metrics  http://${SCORING_METRICS_HOST:-127.0.0.1}:${SCORING_METRICS_PORT:-8404}/metrics   (HAProxy's Prometheus exporter; /slots maps servers to versions)
  access log    $SERVING_RUN_DIR/access.log   (one JSON line per request, with its X-Request-ID)
  sidecar       http://${SIDECAR_BIND:-127.0.0.1:8000}/   (/logs /sample /feedback /retrain /metrics)
  sidecar token $(sidecar_token_line "$state_dir")
                (the dashboard asks for it; scripts send Authorization: Bearer <it>)

Ctrl-C stops everything.
EOF_URLS

# Wake on the first child to exit (a crash) or on a signal, then stop the rest.
wait -n "${pids[@]}" || true
echo "a process exited on its own; see .run/logs/" >&2
