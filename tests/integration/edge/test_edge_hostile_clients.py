"""Hostile clients on raw sockets: cut bodies, crowds of slow clients, dying processes.

The request-parsing cases are in test_edge_hostile_requests.py; these are about what
clients and processes do over time: a body cut short, 1,500 clients holding half a header,
a process that dies holding a request, more connections than the cap. Each is a row of
docs/SERVING.md's "Hostile requests" table, against real HAProxy and real scoring processes.
"""

from __future__ import annotations

import resource
import socket
import threading
import time

import pytest

from tests.support.edge import predict, settled_count, wait_for_request_id
from tests.support.raw_http import connect, post_bytes

pytestmark = pytest.mark.slow


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
