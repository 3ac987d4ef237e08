#!/usr/bin/env bash
# One-shot trainer, as the trainer image runs it and tests/e2e/test_stack_on_postgres.py
# runs it without Docker: when the registry has no @IRIS_MODEL_ALIAS (default champion)
# for IRIS_MODEL_NAME, run the MLflow Project (`mlflow run <repo> --env-manager local`),
# whose quality gate promotes the first version; otherwise do nothing. Exits 0 once a
# champion exists, so Compose can start scoring after `service_completed_successfully`.
# Environment: MLFLOW_TRACKING_URI (required: the tracking server to train into),
# IRIS_MODEL_NAME, IRIS_MODEL_ALIAS, IRIS_LOG_STORE_URL, IRIS_PROJECT_DIR (default: this
# repository). Set TRAIN_ALWAYS=1 to train even when a champion exists (the gate still
# decides whether the new version is promoted). Extra arguments go to `mlflow run`
# (e.g. -P candidates=logistic_regression -P cv_folds=2).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$root/.venv/bin:$PATH"
project="${IRIS_PROJECT_DIR:-$root}"
: "${MLFLOW_TRACKING_URI:?set MLFLOW_TRACKING_URI to the tracking server to train into}"

champion() {  # prints the champion's version; exit 0 found, 3 none, other: error
  python - <<'PY'
import sys

from mlflow import MlflowClient

from mlproject.config import Settings
from mlproject.registry import current_champion

settings = Settings.from_env()
found = current_champion(
    MlflowClient(settings.tracking_uri), settings.model_name, settings.model_alias
)
if found is None:
    sys.exit(3)
print(found.version)
PY
}

status=0
version="$(cd "$project" && champion)" || status=$?
if [[ $status == 0 && "${TRAIN_ALWAYS:-0}" != 1 ]]; then
  echo "trainer: @${IRIS_MODEL_ALIAS:-champion} is version $version; nothing to train"
  exit 0
fi
if [[ $status != 0 && $status != 3 ]]; then
  echo "trainer: cannot read the registry at $MLFLOW_TRACKING_URI (exit $status)" >&2
  exit "$status"
fi

echo "trainer: mlflow run $project --env-manager local $*"
mlflow run "$project" --env-manager local "$@"

version="$(cd "$project" && champion)" || {
  echo "trainer: training finished but the registry still has no champion" >&2
  exit 1
}
echo "trainer: @${IRIS_MODEL_ALIAS:-champion} is version $version"
