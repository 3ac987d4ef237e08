#!/usr/bin/env bash
# Start the sidecar under gunicorn with a fresh Prometheus multiprocess directory.
# Environment: PROMETHEUS_MULTIPROC_DIR (default .run/prometheus-multiproc under the repo),
# plus everything sidecar/gunicorn_conf.py and sidecar/config.py read. Extra arguments go
# to gunicorn.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
multiproc_dir="${PROMETHEUS_MULTIPROC_DIR:-$root/.run/prometheus-multiproc}"

case "$multiproc_dir" in
  "" | "/" | "$HOME" | "$root")
    echo "refusing to wipe PROMETHEUS_MULTIPROC_DIR=$multiproc_dir" >&2
    exit 2
    ;;
esac

# Counters from a previous run would otherwise be summed into this one's.
rm -rf -- "$multiproc_dir"
mkdir -p -- "$multiproc_dir"
export PROMETHEUS_MULTIPROC_DIR="$multiproc_dir"

if [[ -x "$root/.venv/bin/gunicorn" ]]; then
  gunicorn="$root/.venv/bin/gunicorn"
else
  gunicorn="$(command -v gunicorn)"
fi

cd "$root"
exec "$gunicorn" --config "$root/sidecar/gunicorn_conf.py" "$@" sidecar.wsgi:app
