# shellcheck shell=bash
# Sourced by serve.sh and .ci/run: make sure the haproxy binary exists (HAProxy >= 2.6 with
# its Prometheus exporter, as Debian 12 ships it). As root on Debian/Ubuntu it is installed
# with apt; Debian's package would enable a system service of its own, which the serving
# edge never uses, so that service is kept from starting and disabled. Anywhere else this
# stops with one line that says how to install it.

haproxy_present() {
  command -v haproxy >/dev/null 2>&1 || [[ -x /usr/sbin/haproxy ]]
}

is_debian_like() {
  [[ -r /etc/os-release ]] && grep -qiE '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release
}

# Stop and disable the system service the package may have started (no-op without one).
disable_haproxy_service() {
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now haproxy >/dev/null 2>&1 || true
  fi
  if [[ -x /etc/init.d/haproxy ]]; then
    /etc/init.d/haproxy stop >/dev/null 2>&1 || true
    command -v update-rc.d >/dev/null 2>&1 && update-rc.d haproxy disable >/dev/null 2>&1
  fi
  return 0
}

# apt-get install haproxy with services kept from starting (policy-rc.d), then disabled.
install_haproxy() {
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends haproxy >/dev/null
  local status=$?
  [[ $made_policy == 1 ]] && rm -f "$policy"
  disable_haproxy_service
  return $status
}

ensure_haproxy() {
  haproxy_present && return 0
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1 && is_debian_like; then
    echo "haproxy is missing: installing it (apt-get install haproxy)"
    install_haproxy && haproxy_present && return 0
  fi
  echo "haproxy is not installed: run 'sudo apt-get install haproxy' (Debian/Ubuntu) or install HAProxy >= 2.6 with its Prometheus exporter" >&2
  return 1
}
