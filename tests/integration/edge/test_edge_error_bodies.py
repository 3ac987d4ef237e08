"""Every error HAProxy answers after parsing has MLflow's JSON error shape and a Content-Type."""

from __future__ import annotations

import signal
import threading
import time

import pytest
import requests

from serving.edge_config import HTTP_ERRORS
from tests.support.edge import predict
from tests.support.raw_http import connect, exchange, read_response

pytestmark = pytest.mark.slow


def _assert_mlflow_error(response, status: int) -> dict:
    assert response.status == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error_code", "message"}
    assert body["error_code"] == HTTP_ERRORS[status][0]
    assert body["message"]
    return body


def test_no_serving_process_is_503_json(edge_factory):
    stack = edge_factory(versions=())
    response = exchange(stack.port, b"GET /ping HTTP/1.1\r\nHost: e\r\n\r\n", timeout=10)
    _assert_mlflow_error(response, 503)
    assert response.headers["x-request-id"]


def test_a_body_that_stops_coming_is_408_json_after_the_request_timeout(edge_factory):
    stack = edge_factory(http_request_timeout=2.0)
    before = stack.edge.slot_states()["blue1"].total
    with connect(stack.port, 15) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: e\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"inputs":'
        )
        started = time.monotonic()
        response = read_response(sock, 15)
    _assert_mlflow_error(response, 408)
    assert 1.5 <= time.monotonic() - started <= 5
    assert stack.edge.slot_states()["blue1"].total == before  # the process never saw it


def test_a_full_queue_is_429_json_and_a_long_wait_in_it_is_503_json(edge_factory):
    stack = edge_factory(server_maxconn=1, max_queue=1, queue_timeout=2.0)
    [process] = stack.processes
    process.child.send_signal(signal.SIGSTOP)
    answers: dict[str, requests.Response] = {}

    def send(name):
        answers[name] = requests.post(
            f"{stack.url}/invocations", json={"inputs": [[1, 2, 3, 4]]}, timeout=30
        )

    try:
        first = threading.Thread(target=send, args=("in flight",))
        first.start()
        _wait(lambda: stack.edge.slot_states()["blue1"].sessions == 1)
        second = threading.Thread(target=send, args=("queued",))
        second.start()
        _wait(lambda: stack.edge.slot_states()["blue1"].queued == 1)
        response = exchange(
            stack.port,
            b"POST /invocations HTTP/1.1\r\nHost: e\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\n\r\n{}",
            timeout=5,
        )
        _assert_mlflow_error(response, 429)
        second.join(10)
        queued = answers["queued"]
        assert queued.status_code == 503
        assert queued.headers["content-type"] == "application/json"
        assert queued.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
    finally:
        process.child.send_signal(signal.SIGCONT)
    first.join(30)
    assert answers["in flight"].status_code == 400  # MLflow's own answer, once resumed


def test_a_scoring_process_that_does_not_answer_in_time_is_504_json(edge_factory):
    stack = edge_factory(server_timeout=2)
    [process] = stack.processes
    process.child.send_signal(signal.SIGSTOP)
    try:
        response = exchange(stack.port, b"GET /ping HTTP/1.1\r\nHost: e\r\n\r\n", timeout=15)
    finally:
        process.child.send_signal(signal.SIGCONT)
    _assert_mlflow_error(response, 504)


def test_a_scoring_process_that_dies_mid_request_is_502_json(edge_factory):
    stack = edge_factory()
    [process] = stack.processes
    process.child.send_signal(signal.SIGSTOP)
    result = {}
    sender = threading.Thread(target=lambda: result.update(r=predict(stack.url, "dies")))
    sender.start()
    _wait(lambda: stack.edge.slot_states()["blue1"].sessions == 1)
    process.child.send_signal(signal.SIGKILL)
    sender.join(30)
    response = result["r"]
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error_code"] == HTTP_ERRORS[502][0]
    assert response.headers["x-request-id"] == "dies"


def test_the_413_400_and_401_bodies_are_json(edge_factory):
    stack = edge_factory(token="s3cret-token")
    too_big = exchange(
        stack.port,
        b"POST /invocations HTTP/1.1\r\nHost: e\r\nContent-Type: text/csv\r\n"
        b"Authorization: Bearer s3cret-token\r\nContent-Length: 1000000000000\r\n\r\n",
    )
    _assert_mlflow_error(too_big, 413)
    control = exchange(stack.port, b"GET /ping HTTP/1.1\r\nHost: e\r\nX-A: \x01\r\n\r\n")
    _assert_mlflow_error(control, 400)
    unauthenticated = exchange(
        stack.port,
        b"POST /invocations HTTP/1.1\r\nHost: e\r\nContent-Type: text/csv\r\n"
        b"Content-Length: 0\r\n\r\n",
    )
    _assert_mlflow_error(unauthenticated, 401)
    assert unauthenticated.headers["www-authenticate"] == "Bearer"


def _wait(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
