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
import resource
import socket
import threading
import time

import pytest

from tests.support.edge import (
    connect,
    exchange,
    post_bytes,
    predict,
    read_response,
    settled_count,
    wait_for_request_id,
)

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


@pytest.mark.parametrize(("size", "cut"), [(16_050, 8_015), (200_000, 100_000)])
def test_a_body_cut_short_by_the_client_never_reaches_the_model(shared, size, cut):
    rows = "".join("5.1,3.5,1.4,1.8\n" for _ in range(size // 16))
    body = ("sepal_length,sepal_width,petal_length,petal_width\n" + rows).encode()[:size]
    before = settled_count(shared.url, shared.store_url, f"before-cut-{size}")
    with connect(shared.port, 10) as sock:
        sock.sendall(post_bytes(body, "text/csv")[: -(len(body) - cut)])
        time.sleep(0.5)  # let part of it travel through the edge
    # Once a later request's row is stored, the cut one's would have been too.
    assert settled_count(shared.url, shared.store_url, f"after-cut-{size}") == before + 1


def test_fifteen_hundred_clients_holding_half_a_header_do_not_delay_a_valid_request(shared):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4000:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    held: list[socket.socket] = []
    try:
        for _ in range(1500):
            sock = socket.create_connection(("127.0.0.1", shared.port), timeout=5)
            sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: edge\r\nContent-")
            held.append(sock)
        time.sleep(0.5)
        timings = []
        for index in range(5):
            started = time.monotonic()
            response = predict(shared.url, f"among-slow-clients-{index}")
            timings.append(time.monotonic() - started)
            assert response.status_code == 200
        stats = shared.haproxy.api.execute("show info")
        current = int(
            next(line for line in stats.splitlines() if line.startswith("CurrConns:")).split(":")[1]
        )
    finally:
        for sock in held:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert current >= 1500  # they really were all held open at the edge
    assert max(timings) < 2.0, timings
    print(f"valid requests among 1,500 slow clients: {[round(t * 1000) for t in timings]} ms")


def test_a_request_is_retried_only_when_its_connection_failed(edge_factory):
    # blue1 points at a closed port, blue2 at the real process: a refused connect is
    # redispatched, and the request is answered once.
    stack = edge_factory(versions=("1",), slots=2)
    process = stack.processes[0]
    closed_port = _closed_port()
    stack.edge.assign("blue1", closed_port, "1")
    stack.edge.assign("blue2", process.port, "1")
    stack.edge.promote("blue", 2)
    for index in range(6):
        marker = f"redispatched-{index}"
        assert predict(stack.url, marker).status_code == 200
        assert len(wait_for_request_id(stack.store_url, marker)) == 1
    retried = [r for r in stack.access_log() if r["retries"] != "0"]
    assert retried and all(r["status"] == 200 for r in retried)


def test_a_request_sent_to_a_process_that_dies_is_answered_502_and_never_sent_again(
    edge_factory,
):
    # Two processes serve; the one that gets the request is frozen, then killed with the
    # request in its socket. HAProxy must not resend it to the other one.
    import signal

    stack = edge_factory(versions=("1", "2"), slots=2)
    first, second = stack.processes
    for process in (first, second):
        process.child.send_signal(signal.SIGSTOP)
    outcome = {}

    def send():
        outcome["response"] = predict(stack.url, "sent-once", headers={"X-Route-Key": "k"})

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 10
    target = None
    while target is None and time.monotonic() < deadline:
        states = stack.edge.slot_states()
        busy = [name for name in ("blue1", "blue2") if states[name].sessions]
        target = busy[0] if busy else None
        time.sleep(0.05)
    assert target is not None, "the request never reached a server"
    victim, survivor = (first, second) if target == "blue1" else (second, first)
    victim.child.send_signal(signal.SIGKILL)
    survivor.child.send_signal(signal.SIGCONT)
    sender.join(30)
    response = outcome["response"]
    assert response.status_code == 502
    assert response.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
    time.sleep(1)
    assert wait_for_request_id(stack.store_url, "sent-once", timeout=2) == []
    [line] = [r for r in stack.access_log() if r["request_id"] == "sent-once"]
    assert line["retries"] == "0" and line["status"] == 502


def test_connections_over_the_cap_wait_in_the_accept_queue_until_one_frees(edge_factory):
    stack = edge_factory(max_connections=20, http_request_timeout=2.0)
    held = [connect(stack.port, 10) for _ in range(20)]
    for sock in held:
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: e\r\n")
    time.sleep(0.3)
    started = time.monotonic()
    response = predict(stack.url, "over-the-cap")
    waited = time.monotonic() - started
    for sock in held:
        sock.close()
    assert response.status_code == 200
    assert 1.0 <= waited <= 6.0  # it waited for the slow ones' 2 s timeout, then was served


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
