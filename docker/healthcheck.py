"""Container health per role: ``python docker/healthcheck.py tracking|scoring|sidecar|trainer``.

The images' HEALTHCHECK runs it inside the container, and
tests/e2e/test_stack_on_postgres.py runs it against the same processes started without
Docker, with the same environment variables. Standard library only, so it starts fast and
works with whatever the image has. Exit 0 when healthy, 1 with a one-line reason (Docker
keeps it in ``docker inspect``'s health log) when not.

  tracking  GET /health on TRACKING_PORT (default 5000) answers 200
  scoring   GET /ping on SCORING_PORT (default 5001), the public port: HAProxy answers
            200 only when a scoring process behind it does
  sidecar   GET /health on SIDECAR_BIND's port (default 8000) answers with the log store
            reachable; a 503 that only says scoring is down is scoring's health, not the
            sidecar's
  trainer   the tracking server the one-shot trains into (MLFLOW_TRACKING_URI) answers
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping

TIMEOUT_SECONDS = 5.0
# Addresses a server binds to listen everywhere; compared with, never bound here.
LISTEN_EVERYWHERE = ("", "0.0.0.0", "::", "[::]")  # nosec B104 # compared, not bound


class Unhealthy(Exception):
    """The role's check failed; the message says why."""


def _local(host: str) -> str:
    """Where to reach a server that listens on ``host`` from the same machine."""
    return "127.0.0.1" if host in LISTEN_EVERYWHERE else host


def _get(url: str, ok: tuple[int, ...] = (200,)) -> tuple[int, bytes]:
    try:
        # Only http URLs built from this container's own settings reach here.
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # nosec B310
            return response.status, response.read(65536)
    except urllib.error.HTTPError as exc:
        if exc.code in ok:
            return exc.code, exc.read(65536)
        raise Unhealthy(f"{url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unhealthy(f"{url} unreachable: {reason}") from None


def tracking(env: Mapping[str, str]) -> str:
    url = f"http://{_local(env.get('TRACKING_HOST', ''))}:{env.get('TRACKING_PORT', '5000')}/health"
    _get(url)
    return f"tracking answers {url}"


def scoring(env: Mapping[str, str]) -> str:
    url = f"http://{_local(env.get('SCORING_HOST', ''))}:{env.get('SCORING_PORT', '5001')}/ping"
    _get(url)
    return f"scoring answers {url}"


def sidecar(env: Mapping[str, str]) -> str:
    host, _, port = env.get("SIDECAR_BIND", "127.0.0.1:8000").rpartition(":")
    url = f"http://{_local(host)}:{port or '8000'}/health"
    _status, body = _get(url, ok=(200, 503))
    try:
        store = json.loads(body)["log_store"]
    except (ValueError, KeyError, TypeError):
        raise Unhealthy(f"{url} did not answer the sidecar's health JSON") from None
    if not store.get("reachable"):
        raise Unhealthy(f"sidecar cannot reach its log store: {store.get('error')}")
    return f"sidecar answers {url} with its log store reachable"


def trainer(env: Mapping[str, str]) -> str:
    uri = env.get("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000").rstrip("/")
    if not uri.startswith(("http://", "https://")):
        return f"trainer writes to a local store ({uri.split(':', 1)[0]})"
    _get(f"{uri}/health")
    return f"tracking server {uri} answers"


ROLES: dict[str, Callable[[Mapping[str, str]], str]] = {
    "tracking": tracking,
    "scoring": scoring,
    "sidecar": sidecar,
    "trainer": trainer,
}


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Check one role; print why and return 0 (healthy) or 1 (unhealthy)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in ROLES:
        print(f"usage: healthcheck.py {{{'|'.join(ROLES)}}}", file=sys.stderr)
        return 2
    try:
        print(ROLES[args[0]](os.environ if env is None else env))
    except Unhealthy as exc:
        print(f"unhealthy: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
