# shellcheck shell=bash
# Sourced by up.sh: the sidecar's write token, so a newcomer's dashboard can retrain.
# No default secret is ever shipped: an unset SIDECAR_TOKEN gets a random one, kept in
# the state folder (mode 600) and reused by the next `make up`, like Jupyter's token.

# ensure_sidecar_token STATE_DIR: export SIDECAR_TOKEN, and SIDECAR_TOKEN_ORIGIN saying
# where it came from: "environment", "generated" or "reused".
ensure_sidecar_token() {
  local file="$1/sidecar-token"
  if [[ -n "${SIDECAR_TOKEN:-}" ]]; then
    SIDECAR_TOKEN_ORIGIN=environment
  elif [[ -s "$file" ]]; then
    chmod 600 "$file"  # someone may have loosened it; a token others can read is no secret
    SIDECAR_TOKEN="$(<"$file")"
    SIDECAR_TOKEN_ORIGIN=reused
  else
    local tmp="$file.$$"
    # umask first: the file is never readable by others, not even for an instant.
    (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$tmp")
    mv -f "$tmp" "$file"
    SIDECAR_TOKEN="$(<"$file")"
    SIDECAR_TOKEN_ORIGIN=generated
  fi
  export SIDECAR_TOKEN SIDECAR_TOKEN_ORIGIN
}

# sidecar_token_line: the line `make up` prints with the URLs.
sidecar_token_line() {
  case "$SIDECAR_TOKEN_ORIGIN" in
    environment) echo "SIDECAR_TOKEN from your environment" ;;
    *) echo "$SIDECAR_TOKEN   ($SIDECAR_TOKEN_ORIGIN; kept in ${1}/sidecar-token, mode 600)" ;;
  esac
}
