"""docker/healthcheck.py tells healthy from unhealthy, per role, against real HTTP servers.

The healthy path against the real services is in tests/e2e/test_stack_on_postgres.py; here
small servers answer what a failing service answers (HAProxy's 503 with no backend, the
sidecar's degraded health, nothing at all) so each way of being unhealthy is seen.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support.processes import REPO_ROOT, free_port

HEALTHCHECK = REPO_ROOT / "docker" / "healthcheck.py"


class Answers(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, str]] = {}

    def do_GET(self):  # noqa: N802 - http.server's name
        status, body = self.routes.get(self.path, (404, "not found"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server() -> Iterator[tuple[int, dict[str, tuple[int, str]]]]:
    """A server on a free port answering ``routes[path] = (status, body)``."""
    routes: dict[str, tuple[int, str]] = {}
    handler = type("Handler", (Answers,), {"routes": routes})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], routes
    httpd.shutdown()
    httpd.server_close()


def check(role: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK), role],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_tracking_is_healthy_when_health_answers_200(server):
    port, routes = server
    routes["/health"] = (200, "OK")
    result = check("tracking", TRACKING_HOST="0.0.0.0", TRACKING_PORT=str(port))
    assert (result.returncode, result.stdout.strip()) == (
        0,
        f"tracking answers http://127.0.0.1:{port}/health",
    )


def test_tracking_is_unhealthy_when_health_answers_an_error(server):
    port, routes = server
    routes["/health"] = (503, "{}")
    result = check("tracking", TRACKING_PORT=str(port))
    assert result.returncode == 1
    assert "answered HTTP 503" in result.stdout


def test_scoring_is_unhealthy_when_the_edge_has_no_scoring_process_behind_it(server):
    port, routes = server
    routes["/ping"] = (503, '{"error_code": "TEMPORARILY_UNAVAILABLE"}')
    assert check("scoring", SCORING_PORT=str(port)).returncode == 1
    routes["/ping"] = (200, "\n")
    assert check("scoring", SCORING_HOST="0.0.0.0", SCORING_PORT=str(port)).returncode == 0


def test_a_role_with_nothing_listening_is_unhealthy_and_says_so():
    result = check("scoring", SCORING_PORT=str(free_port()))
    assert result.returncode == 1
    assert "unreachable" in result.stdout


def test_sidecar_is_healthy_while_only_scoring_is_down(server):
    port, routes = server
    body = {"status": "degraded", "log_store": {"reachable": True, "error": None}}
    routes["/health"] = (503, json.dumps(body))
    assert check("sidecar", SIDECAR_BIND=f"0.0.0.0:{port}").returncode == 0


def test_sidecar_is_unhealthy_when_its_log_store_is_unreachable(server):
    port, routes = server
    body = {"status": "degraded", "log_store": {"reachable": False, "error": "connection refused"}}
    routes["/health"] = (503, json.dumps(body))
    result = check("sidecar", SIDECAR_BIND=f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert "cannot reach its log store: connection refused" in result.stdout


def test_sidecar_is_unhealthy_when_something_else_answers_its_port(server):
    port, routes = server
    routes["/health"] = (200, "<html>not the sidecar</html>")
    assert check("sidecar", SIDECAR_BIND=f"127.0.0.1:{port}").returncode == 1


def test_trainer_follows_the_tracking_server_it_trains_into(server):
    port, routes = server
    routes["/health"] = (200, "OK")
    assert check("trainer", MLFLOW_TRACKING_URI=f"http://127.0.0.1:{port}/").returncode == 0
    down = check("trainer", MLFLOW_TRACKING_URI=f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 1


def test_an_unknown_role_is_a_usage_error():
    result = check("database")
    assert result.returncode == 2
    assert "usage: healthcheck.py {tracking|scoring|sidecar|trainer}" in result.stderr
