"""Request ids, optional auth, the JSON access log, the exporter and MLflow's app guarded."""

from __future__ import annotations

import json
import time

import pytest
import requests

from serving.guard import DEFAULT_MAX_DEPTH
from tests.support.edge import SPLIT_BODY, predict, settled_count, wait_for_request_id
from tests.support.raw_http import exchange, post_bytes

pytestmark = pytest.mark.slow

COLUMNS = SPLIT_BODY["dataframe_split"]["columns"]


# ---------------------------------------------------------------- request ids


def test_a_clients_request_id_comes_back_and_is_stored_with_its_predictions(shared):
    response = predict(shared.url, "client-chosen.id:42")
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "client-chosen.id:42"
    [row] = wait_for_request_id(shared.store_url, "client-chosen.id:42")
    assert row["prediction_id"] == response.json()["predictions"][0]["prediction_id"]
    [line] = [r for r in shared.access_log() if r["request_id"] == "client-chosen.id:42"]
    assert (line["status"], line["server"], line["model_version"]) == (200, "blue1", "1")


def test_a_request_without_an_id_gets_a_uuid_that_reaches_the_log_and_the_answer(shared):
    response = predict(shared.url)
    generated = response.headers["x-request-id"]
    assert len(generated) == 36 and generated.count("-") == 4
    assert wait_for_request_id(shared.store_url, generated)
    assert [r for r in shared.access_log() if r["request_id"] == generated]


@pytest.mark.parametrize("unusable", ['quote"inside', "spa ce", "x" * 129, "semi;colon"])
def test_an_unusable_client_id_is_replaced_by_a_generated_one(shared, unusable):
    response = predict(shared.url, unusable)
    assert response.status_code == 200
    assert response.headers["x-request-id"] not in (unusable, "")
    assert wait_for_request_id(shared.store_url, response.headers["x-request-id"])


def test_a_request_id_in_the_params_wins_over_the_header(shared):
    body = {**SPLIT_BODY, "params": {"request_id": "from-params"}}
    response = requests.post(
        f"{shared.url}/invocations", json=body, headers={"X-Request-ID": "from-header"}, timeout=30
    )
    assert response.status_code == 200
    assert wait_for_request_id(shared.store_url, "from-params")
    assert response.headers["x-request-id"] == "from-header"


# ---------------------------------------------------------------- access log


def test_every_access_log_line_is_json_even_for_hostile_uris(shared):
    exchange(shared.port, b'GET /a"b\\c]d{}%22?q="x" HTTP/1.1\r\nHost: e\r\n\r\n')
    exchange(shared.port, b"GET /\xc3\xa9\xff HTTP/1.1\r\nHost: e\r\n\r\n")
    exchange(shared.port, b"BAD\x01 / HTTP/1.1\r\n\r\n")
    deadline = time.monotonic() + 10  # HAProxy writes its log lines after answering
    while True:
        text = shared.haproxy.files.access_log.read_text()
        lines = [json.loads(line) for line in text.splitlines()]
        if any(line["uri"].startswith('/a"b\\c]d{}') for line in lines):
            break
        assert time.monotonic() < deadline, "the hostile URI never reached the access log"
        time.sleep(0.1)
    assert any(line["status"] == 400 for line in lines)
    for line in lines:
        assert {"ts", "request_id", "status", "server", "model_version", "total_ms"} <= set(line)


# ---------------------------------------------------------------- auth


def test_with_a_token_invocations_need_it_and_health_routes_stay_open(edge_factory):
    stack = edge_factory(token="t0k.en-1")
    assert predict(stack.url).status_code == 401
    wrong = predict(stack.url, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error_code"] == "UNAUTHENTICATED"
    assert predict(stack.url, headers={"Authorization": "Bearer t0k.en-1x"}).status_code == 401
    assert predict(stack.url, headers={"Authorization": "Bearer t0k.en-1"}).status_code == 200
    for path in ("/ping", "/health", "/version"):
        assert requests.get(f"{stack.url}{path}", timeout=10).status_code == 200, path
    for path in ("/invocations/", "//invocations", "/docs", "/openapi.json"):
        assert requests.get(f"{stack.url}{path}", timeout=10).status_code == 401, path
    config = stack.haproxy.files.config.read_text()
    assert "t0k.en-1" not in config  # HAProxy reads it from its environment


def test_without_a_token_invocations_are_open(shared):
    assert predict(shared.url).status_code == 200
    assert "SCORING_TOKEN unset" in shared.haproxy.files.config.read_text()


# ---------------------------------------------------------------- exporter


def test_the_exporter_reports_per_slot_traffic_and_slots_map_to_versions(shared):
    predict(shared.url, "for-metrics")
    metrics = requests.get(f"{shared.metrics_url}/metrics", timeout=10).text
    served = [
        line
        for line in metrics.splitlines()
        if line.startswith("haproxy_server_http_responses_total{")
        and 'server="blue1"' in line
        and 'code="2xx"' in line
    ]
    assert served and float(served[0].rsplit(" ", 1)[1]) >= 1
    for name in (
        "haproxy_server_current_sessions",
        "haproxy_server_total_time_average_seconds",
        "haproxy_frontend_http_requests_total",
    ):
        assert f"{name}{{" in metrics, name
    slots = requests.get(f"{shared.metrics_url}/slots", timeout=10)
    assert slots.headers["content-type"].startswith("text/plain")
    assert (
        'iris_edge_slot_info{proxy="scoring",server="blue1",model_version="1",role="champion"} 1'
        in slots.text
    )
    assert 'server="green1",model_version="none"' in slots.text


# ---------------------------------------------------------------- MLflow's app, guarded


def test_a_request_without_a_content_type_is_415_not_mlflows_500(shared):
    body = json.dumps(SPLIT_BODY).encode()
    request = (
        f"POST /invocations HTTP/1.1\r\nHost: e\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    response = exchange(shared.port, request)
    assert response.status == 415
    assert response.json()["error_code"] == "BAD_REQUEST"
    assert "Content-Type" in response.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"dataframe_split": {"columns": ["a"], "data": ' + b"[" * 100_000,
        b'{"inputs": '
        + b"[" * (DEFAULT_MAX_DEPTH + 1)
        + b"1"
        + b"]" * (DEFAULT_MAX_DEPTH + 1)
        + b"}",
        b'{"dataframe_records": [' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_000 + b"]}",
    ],
    ids=["brackets", "inside-dataframe-split", "just-over-the-limit", "objects"],
)
def test_deeply_nested_json_is_400_not_mlflows_500(shared, body, request):
    marker = request.node.callspec.id
    before = settled_count(shared.url, shared.store_url, f"before-{marker}")
    response = exchange(shared.port, post_bytes(body))
    assert response.status == 400
    assert response.json()["error_code"] == "MALFORMED_REQUEST"
    assert "nested" in response.json()["message"]
    assert settled_count(shared.url, shared.store_url, f"after-{marker}") == before + 1


def test_a_chunked_body_over_the_limit_is_413_from_the_scoring_process(edge_factory):
    stack = edge_factory(max_body=64 * 1024)
    chunk = b"5.1,3.5,1.4,0.2\n" * 1024  # 16 KiB per chunk, 80 KiB in all
    request = (
        b"POST /invocations HTTP/1.1\r\nHost: e\r\nContent-Type: text/csv\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        + b"".join(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(5))
        + b"0\r\n\r\n"
    )
    response = exchange(stack.port, request)
    assert response.status == 413
    assert response.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"


def test_a_chunked_body_under_the_limit_is_scored(shared):
    csv = b"sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n"
    request = (
        b"POST /invocations HTTP/1.1\r\nHost: e\r\nContent-Type: text/csv\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        + f"{len(csv):x}\r\n".encode()
        + csv
        + b"\r\n0\r\n\r\n"
    )
    response = exchange(shared.port, request)
    assert response.status == 200
    assert response.json()["predictions"][0]["prediction"] == "setosa"
