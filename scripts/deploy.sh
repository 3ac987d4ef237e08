#!/usr/bin/env bash
# `make deploy`: run the Compose stack on this Docker host and prove every service healthy.
#
#   scripts/deploy.sh [--build | --pull] [--tag TAG] [--timeout SECONDS]
#   scripts/deploy.sh --rollback [--pull] [--timeout SECONDS]
#
#   --build       build the four images here from docker/Dockerfile (the default)
#   --pull        pull IRIS_IMAGE_PREFIX/<role>:TAG from a registry instead (the release
#                 workflow pushes them to GHCR; deploy.yml deploys with --pull)
#   --tag TAG     the image tag to deploy (default: $IRIS_IMAGE_TAG, else "local")
#   --rollback    deploy again the tag that was live before the current one
#   --timeout S   how long `docker compose up --wait` may take (default 900 s: the first
#                 start trains a model before scoring can be healthy)
#
# Then: `docker compose up --wait`, the state of every service (the one-shot trainer must
# have exited 0, every other service must be healthy), the URLs. When a service is not,
# prints its last log lines and exits 1, leaving the stack as it is for inspection. Each
# successful deploy records its tag, and the one before, in $IRIS_DEPLOY_STATE_DIR
# (default .deploy/ here) for --rollback.
# Environment: DOCKER (default docker), IRIS_IMAGE_PREFIX, IRIS_IMAGE_TAG, and the
# secrets docker-compose.yml requires (in the shell or in .env; docs/DEPLOY.md).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
docker_cmd="${DOCKER:-docker}"
state_dir="${IRIS_DEPLOY_STATE_DIR:-$root/.deploy}"
log_lines=60

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}
die() {  # die STATUS MESSAGE
  echo "deploy: $2" >&2
  exit "$1"
}

mode=""
tag="${IRIS_IMAGE_TAG:-}"
tag_given=0
rollback=0
timeout=900
while (($#)); do
  case "$1" in
    --build | --pull)
      [[ -z "$mode" || "$mode" == "${1#--}" ]] || die 2 "--build and --pull exclude each other"
      mode="${1#--}"
      ;;
    --tag)
      (($# >= 2)) || die 2 "--tag needs a value"
      tag="$2"
      tag_given=1
      shift
      ;;
    --tag=*)
      tag="${1#--tag=}"
      tag_given=1
      ;;
    --rollback) rollback=1 ;;
    --timeout)
      (($# >= 2)) || die 2 "--timeout needs a value"
      timeout="$2"
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die 2 "unknown argument: $1 (see scripts/deploy.sh --help)" ;;
  esac
  shift
done
mode="${mode:-build}"
[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || die 2 "--timeout wants a whole number of seconds, got '$timeout'"

current="$(cat "$state_dir/current" 2>/dev/null || true)"
previous="$(cat "$state_dir/previous" 2>/dev/null || true)"
if ((rollback)); then
  ((tag_given == 0)) || die 2 "--rollback deploys the previous tag; it takes no --tag"
  [[ -n "$previous" ]] || die 2 "no previous deployment recorded in $state_dir; nothing to roll back to"
  tag="$previous"
  # The previous images are still on this host unless they come from a registry.
  [[ "$mode" == pull ]] || mode=existing
fi
tag="${tag:-local}"
# Docker's tag grammar: it is also a path component of the state files.
[[ "$tag" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die 2 "not a valid image tag: '$tag'"
export IRIS_IMAGE_TAG="$tag"

compose() {
  "$docker_cmd" compose --project-directory "$root" -f "$root/docker-compose.yml" "$@"
}

"$docker_cmd" compose version >/dev/null 2>&1 \
  || die 3 "'$docker_cmd compose' is not available: install Docker Engine with the Compose plugin (docs/DEPLOY.md)"
# Fails here, with Compose's own message, when a required secret is unset.
compose config --quiet || die 3 "docker-compose.yml does not render; set the variables named above (docker/env.example)"

echo "deploy: ${IRIS_IMAGE_PREFIX:-iris-mlops}/<role>:$tag ($mode)"
case "$mode" in
  build)
    compose pull --quiet --ignore-buildable
    compose build
    ;;
  pull) compose pull --quiet ;;
  existing) ;;
esac

up_status=0
compose up --detach --wait --wait-timeout "$timeout" --remove-orphans --no-build || up_status=$?

# Every service's state, whatever `up` said: the trainer exits 0, the others are healthy.
failed=()
while read -r service; do
  [[ -n "$service" ]] || continue
  line="$(compose ps --all --format '{{.State}}|{{.Health}}|{{.ExitCode}}' "$service" | tail -n 1)"
  IFS='|' read -r state health exit_code <<<"$line"
  if [[ "$service" == trainer ]]; then
    ok=$([[ "$state" == exited && "$exit_code" == 0 ]] && echo 1 || echo 0)
  else
    ok=$([[ "$state" == running && "$health" == healthy ]] && echo 1 || echo 0)
  fi
  printf '  %-11s %s\n' "$service" "${state:-not created}${health:+ ($health)}${exit_code:+, exit code $exit_code}"
  ((ok)) || failed+=("$service")
done < <(compose config --services)

if ((${#failed[@]} == 0 && up_status != 0)); then
  die 1 "docker compose up exited $up_status although every service looks healthy; see above"
fi
if ((${#failed[@]})); then
  for service in "${failed[@]}"; do
    echo >&2
    echo "deploy: $service is not healthy; its last $log_lines log lines:" >&2
    compose logs --no-color --tail "$log_lines" "$service" >&2 || true
  done
  echo >&2
  die 1 "failed: ${failed[*]} (docker compose up exited $up_status); the stack is left as it is"
fi

mkdir -p "$state_dir"
if [[ "$tag" != "$current" ]]; then
  [[ -z "$current" ]] || printf '%s\n' "$current" >"$state_dir/previous"
  printf '%s\n' "$tag" >"$state_dir/current"
fi

cat <<EOF_URLS

deploy: every service is healthy ($tag)
  tracking UI   http://127.0.0.1:5000
  scoring       http://127.0.0.1:5001/invocations   (POST)
  edge metrics  http://127.0.0.1:8404/metrics
  sidecar       http://127.0.0.1:8000/
  prometheus    http://127.0.0.1:9090
  grafana       http://127.0.0.1:3000
EOF_URLS
