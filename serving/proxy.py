"""The public port: a small threaded HTTP/1.1 reverse proxy in front of the scoring processes.

Clients keep their keep-alive connections to the proxy across switches; only the proxy
talks to the scoring processes, so a switch never closes a connection a client holds. A
request whose connection to a scoring process fails before an answer is retried (on a
fresh connection, then on whatever process is active): the switch drains the old process
before stopping it, so that failure means the request never reached the model.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from serving.router import Endpoint, Router

logger = logging.getLogger(__name__)

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
RETRY_PAUSE = 0.05


class ConnectionPool:
    """Idle keep-alive connections to each scoring process, reused newest first."""

    def __init__(self, timeout: float, max_idle_seconds: float = 30.0) -> None:
        self._timeout = timeout
        self._max_idle = max_idle_seconds
        self._idle: dict[int, list[tuple[http.client.HTTPConnection, float]]] = {}
        self._retired: set[int] = set()
        self._lock = threading.Lock()

    def get(self, endpoint: Endpoint) -> tuple[http.client.HTTPConnection, bool]:
        """A connection to ``endpoint`` and whether it was reused."""
        now = time.monotonic()
        with self._lock:
            idle = self._idle.get(id(endpoint), [])
            while idle:
                conn, last_used = idle.pop()
                if now - last_used < self._max_idle:
                    return conn, True
                conn.close()
        return http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=self._timeout), False

    def put(self, endpoint: Endpoint, conn: http.client.HTTPConnection) -> None:
        """Keep ``conn`` for reuse, unless its endpoint is retired."""
        with self._lock:
            if id(endpoint) not in self._retired:
                self._idle.setdefault(id(endpoint), []).append((conn, time.monotonic()))
                return
        conn.close()

    def retire(self, endpoint: Endpoint) -> None:
        """Close every idle connection to ``endpoint`` and keep none from now on."""
        with self._lock:
            self._retired.add(id(endpoint))
            idle = self._idle.pop(id(endpoint), [])
        for conn, _ in idle:
            conn.close()


class Forwarder:
    """Sends one request to the active scoring process, retrying connection failures."""

    def __init__(self, router: Router, pool: ConnectionPool, unavailable_wait: float) -> None:
        self.router = router
        self.pool = pool
        self.unavailable_wait = unavailable_wait

    def forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes):
        """(status, reason, headers, payload) from a scoring process, or the proxy's own error."""
        deadline = time.monotonic() + self.unavailable_wait
        last_error = "no scoring process is serving"
        while True:
            endpoint = self.router.acquire(deadline)
            if endpoint is None:
                return _error(503, "TEMPORARILY_UNAVAILABLE", last_error)
            conn, reused = self.pool.get(endpoint)
            try:
                conn.request(method, path, body=body, headers=dict(headers))
                response = conn.getresponse()
                payload = response.read()
            except TimeoutError:
                conn.close()
                return _error(504, "DEADLINE_EXCEEDED", "the scoring process did not answer")
            except (OSError, http.client.HTTPException) as exc:
                # The request never got an answer; with drains, it never reached the model.
                conn.close()
                last_error = f"version {endpoint.version}: {type(exc).__name__}: {exc}"
                logger.debug("retrying %s %s after %s", method, path, last_error)
                if time.monotonic() >= deadline:
                    return _error(502, "BAD_GATEWAY", last_error)
                if not reused:
                    time.sleep(RETRY_PAUSE)
                continue
            finally:
                self.router.release(endpoint)
            if response.will_close:
                conn.close()
            else:
                self.pool.put(endpoint, conn)
            return response.status, response.reason, response.getheaders(), payload


def _error(status: int, code: str, message: str):
    # MLflow's JSON error body, so clients parse proxy errors like the scoring server's.
    body = json.dumps({"error_code": code, "message": message}).encode()
    return status, http.HTTPStatus(status).phrase, [("Content-Type", "application/json")], body


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120  # an idle client keep-alive connection is closed after this
    server: ProxyServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._proxy()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET  # noqa: N815

    def _proxy(self) -> None:
        try:
            body = self._read_body()
        except ValueError as exc:
            self.close_connection = True
            self._reply(*_error(400, "BAD_REQUEST", str(exc)))
            return
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP]
        self._reply(*self.server.forwarder.forward(self.command, self.path, headers, body))

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.strip().isdigit():
            raise ValueError(f"bad Content-Length {length!r}")
        return self.rfile.read(int(length))

    def _reply(self, status: int, reason: str, headers, payload: bytes) -> None:
        lines = [f"{self.protocol_version} {status} {reason}"]
        lines += [f"{k}: {v}" for k, v in headers if k.lower() not in HOP_BY_HOP]
        lines.append(f"Content-Length: {len(payload)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        # One write: headers and body in one segment, no Nagle/delayed-ACK stall.
        self.wfile.write(head if self.command == "HEAD" else head + payload)
        logger.debug('"%s" %s %s', self.requestline, status, len(payload))

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - overridden signature
        logger.debug("%s " + format, self.address_string(), *args)


class ProxyServer(ThreadingHTTPServer):
    """The public listener; one thread per client connection."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], forwarder: Forwarder) -> None:
        self.forwarder = forwarder
        super().__init__(address, _ProxyHandler)
