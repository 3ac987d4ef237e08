#!/usr/bin/env bash
# Type-check every Grafana dashboard JSON against @grafana/schema's Dashboard type.
# Installs the pinned toolchain (package-lock.json) with `npm ci` when node_modules is
# missing or stale; CHECK_DASHBOARDS_DIR overrides the folder checked (tests use it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
if [[ ! -x node_modules/.bin/tsc ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node generate.cjs "${CHECK_DASHBOARDS_DIR:-$here/../dashboards}"
node_modules/.bin/tsc --noEmit -p tsconfig.json
echo "grafana schema check: OK"
