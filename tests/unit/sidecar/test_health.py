"""GET /health: 200 when the log store and scoring answer, 503 with the reason otherwise."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mlproject.logstore import tables

from .seeding import prediction_record, seed


class _Ping(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(self.status if self.path == "/ping" else 404)
        self.end_headers()
        self.wfile.write(b"\n")

    def log_message(self, *args):
        pass


@pytest.fixture
def scoring_url():
    """A real HTTP server on a free port answering GET /ping like MLflow's scoring server."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ping)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_health_is_200_ok_when_store_and_scoring_answer(make_app, store_url, scoring_url):
    client = make_app(store_url, scoring_url=scoring_url).test_client()
    response = client.get("/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["log_store"] == {"reachable": True, "error": None}
    assert body["scoring"] == {"reachable": True, "url": scoring_url, "error": None}
    assert body["model"]["name"] == "iris-classifier"


def test_health_is_503_degraded_with_the_reason_when_scoring_is_down(client):
    response = client.get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["log_store"]["reachable"] is True
    assert body["scoring"]["reachable"] is False
    assert "cannot reach http://127.0.0.1:9/ping" in body["scoring"]["error"]


def test_health_is_503_when_the_log_store_is_unreachable(make_app, scoring_url):
    nobody_listens = "postgresql+psycopg://postgres@127.0.0.1:9/iris"
    client = make_app(nobody_listens, scoring_url=scoring_url).test_client()
    response = client.get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["log_store"]["reachable"] is False
    assert body["log_store"]["error"]
    assert body["scoring"]["reachable"] is True


def test_health_model_is_the_newest_prediction_version_without_switches(client, engine):
    seed(engine, [prediction_record(0, model_version="3"), prediction_record(1, model_version="4")])
    model = client.get("/health").get_json()["model"]
    assert model == {
        "name": "iris-classifier",
        "version": "4",
        "run_id": "run-4",
        "source": "predictions",
    }


def test_health_model_follows_the_newest_switch(client, engine):
    seed(engine, [prediction_record(0, model_version="5"), prediction_record(1, model_version="4")])
    with engine.begin() as conn:
        now = datetime.now(UTC)
        conn.execute(
            tables.model_switches.insert(),
            [
                {
                    "switched_at": now,
                    "model_name": "iris-classifier",
                    "from_version": "4",
                    "to_version": "5",
                    "outcome": "switched",
                    "reason": "promoted",
                },
                {
                    "switched_at": now,
                    "model_name": "iris-classifier",
                    "from_version": "5",
                    "to_version": "6",
                    "outcome": "refused",
                    "reason": "failed to load",
                },
            ],
        )
    model = client.get("/health").get_json()["model"]
    assert model == {
        "name": "iris-classifier",
        "version": "5",
        "run_id": "run-5",
        "source": "model_switches",
    }


def test_health_model_version_is_null_when_nothing_knows_it(client):
    model = client.get("/health").get_json()["model"]
    assert model["version"] is None and model["source"] is None
