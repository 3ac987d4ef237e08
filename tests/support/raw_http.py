"""HTTP/1.1 on a raw socket, for requests no well-behaved client would send."""

from __future__ import annotations

import socket
from dataclasses import dataclass


@dataclass
class RawResponse:
    status: int | None
    headers: dict[str, str]
    body: bytes
    closed: bool  # the server closed the connection after answering (or without answering)

    def json(self):
        import json

        return json.loads(self.body)


def connect(port: int, timeout: float = 30.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_response(sock: socket.socket, timeout: float = 30.0) -> RawResponse:
    """One HTTP/1.1 response (Content-Length framed, as HAProxy and uvicorn send them)."""
    sock.settimeout(timeout)
    data = b""
    closed = False
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return RawResponse(None, {}, data, True)
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            closed = True
            break
        body += chunk
    if headers.get("connection", "").lower() == "close":
        closed = True
    return RawResponse(status, headers, body, closed)


def exchange(port: int, data: bytes, timeout: float = 30.0) -> RawResponse:
    """Send ``data`` on a new connection and read one response."""
    with connect(port, timeout) as sock:
        sock.sendall(data)
        return read_response(sock, timeout)


def post_bytes(body: bytes, content_type: str = "application/json", extra: str = "") -> bytes:
    """A raw POST /invocations with a correct Content-Length."""
    head = (
        f"POST /invocations HTTP/1.1\r\nHost: edge\r\nContent-Type: {content_type}\r\n"
        f"{extra}Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


# ---------------------------------------------------------------- the prediction log
