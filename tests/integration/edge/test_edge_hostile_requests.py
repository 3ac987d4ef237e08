"""Hostile clients on raw sockets against real HAProxy in front of a real scoring process.

Each case is a row of docs/SERVING.md's "Hostile requests" table. HAProxy 2.6 answers a
request it cannot parse at all (bad request line, bad Content-Length, a malformed
Transfer-Encoding) and a header that never completes from its H1 multiplexer, with its
built-in HTML body: those cases check the status, a Content-Type, the closed connection
and that nothing reached the scoring process. Everything HAProxy answers after parsing
carries MLflow's JSON error shape (see test_edge_error_bodies.py).
"""

from __future__ import annotations

import json
import time

import pytest

from tests.support.raw_http import connect, exchange, read_response

pytestmark = pytest.mark.slow

MAX_BODY = 16 * 1024 * 1024
HEADERS_ONLY = "POST /invocations HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n"


def _declared(length: str) -> bytes:
    return f"{HEADERS_ONLY}Content-Length: {length}\r\n\r\n".encode()


def _backend_requests(stack) -> int:
    return stack.edge.slot_states()["blue1"].total


@pytest.mark.parametrize("length", [str(MAX_BODY + 1), "17000000", str(10**12), str(2**63 - 1)])
def test_a_declared_body_over_the_limit_is_refused_with_413_before_any_byte_is_read(shared, length):
    before = _backend_requests(shared)
    response = exchange(shared.port, _declared(length), timeout=5)
    assert response.status == 413
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert str(MAX_BODY) in response.json()["message"]
    assert _backend_requests(shared) == before


@pytest.mark.parametrize(
    "length", [str(10**20), "99999999999999999999999999", "-1", "1e3", "0x10", "5, 6"]
)
def test_a_content_length_that_is_not_a_length_is_refused_by_the_parser(shared, length):
    before = _backend_requests(shared)
    response = exchange(shared.port, _declared(length), timeout=5)
    assert response.status == 400
    assert response.headers["content-type"]  # HAProxy 2.6's built-in body (see docstring)
    assert response.closed
    assert _backend_requests(shared) == before


def test_transfer_encoding_with_a_space_before_the_colon_is_refused(shared):
    before = _backend_requests(shared)
    request = (
        "POST /invocations HTTP/1.1\r\nHost: edge\r\nContent-Type: text/csv\r\n"
        "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: e\r\n\r\n"
    )
    response = exchange(shared.port, request.encode(), timeout=5)
    assert response.status == 400
    assert response.closed
    assert _backend_requests(shared) == before
    assert not [r for r in shared.access_log() if "smuggled" in r["uri"]]


def test_content_length_and_chunked_together_are_read_as_chunked_and_nothing_is_smuggled(shared):
    before = _backend_requests(shared)
    body = json.dumps({"dataframe_split": {"columns": ["a"], "data": [[1]]}}).encode()
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: edge\r\n\r\n"
    request = (
        f"{HEADERS_ONLY}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        + f"{len(body):x}\r\n".encode()
        + body
        + b"\r\n0\r\n\r\n"
        + smuggled
    )
    with connect(shared.port, 10) as sock:
        sock.sendall(request)
        first = read_response(sock, 10)
        sock.settimeout(2)
        try:
            rest = sock.recv(65536)
        except TimeoutError:
            rest = b"(nothing)"
    # The chunked body (not 4 bytes of it) reached MLflow, which refused its columns.
    assert first.status == 400
    assert b"sepal_length" in first.body or b"Failed to enforce schema" in first.body
    assert first.closed  # HAProxy closes such a connection after the answer
    assert rest in (b"", b"(nothing)")
    assert _backend_requests(shared) == before + 1
    assert not [r for r in shared.access_log() if "smuggled" in r["uri"]]


@pytest.mark.parametrize(
    "request_line",
    [b"GET /ping\x01 HTTP/1.1", b"GET /pi\x00ng HTTP/1.1", b"GET /p\x7fing HTTP/1.1"],
)
def test_a_control_character_in_the_request_line_is_refused_at_once(shared, request_line):
    before = _backend_requests(shared)
    started = time.monotonic()
    response = exchange(shared.port, request_line + b"\r\nHost: edge\r\n\r\n", timeout=5)
    assert response.status == 400
    assert time.monotonic() - started < 2  # the stdlib proxy took 30 s and said 502
    assert _backend_requests(shared) == before


@pytest.mark.parametrize("value", [b"a\x01b", b"a\x1fb", b"a\x7fb", b"\x08"])
def test_a_control_character_in_a_header_value_is_refused_with_json(shared, value):
    before = _backend_requests(shared)
    response = exchange(
        shared.port, b"GET /ping HTTP/1.1\r\nHost: e\r\nX-A: " + value + b"\r\n\r\n"
    )
    assert response.status == 400
    assert response.json()["error_code"] == "MALFORMED_REQUEST"
    assert _backend_requests(shared) == before


def test_a_tab_in_a_header_value_is_allowed(shared):
    response = exchange(shared.port, b"GET /ping HTTP/1.1\r\nHost: e\r\nX-A: a\tb\r\n\r\n")
    assert response.status == 200


def test_a_header_that_never_completes_is_closed_with_408_within_the_request_timeout(shared):
    with connect(shared.port, 30) as sock:
        sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: edge\r\nContent-Ty")
        started = time.monotonic()
        response = read_response(sock, 30)
    waited = time.monotonic() - started
    assert response.status == 408
    assert 9 <= waited <= 12  # timeout http-request 10s


def test_a_header_line_every_second_and_a_half_does_not_hold_the_connection(shared):
    with connect(shared.port, 30) as sock:
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: edge\r\n")
        started = time.monotonic()
        answered = None
        for index in range(20):
            try:
                sock.sendall(f"X-Slow-{index}: 1\r\n".encode())
            except OSError:
                break
            sock.settimeout(1.5)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            answered = data
            break
    assert answered is not None and answered.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < 12
