#!/usr/bin/env bash
# Run once by the postgres image on its first start (an empty data volume): creates
# MLflow's backend store and the prediction log store as two databases owned by
# POSTGRES_USER. Their tables come from the applications themselves (MLflow's and the
# log store's migrations) on first use.
set -euo pipefail

for db in "${MLFLOW_DB:?}" "${LOGSTORE_DB:?}"; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    --set db="$db" --set owner="$POSTGRES_USER" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
done
