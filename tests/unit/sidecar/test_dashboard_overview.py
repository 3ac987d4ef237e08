"""GET /api/overview: health, the model in service with its registry lineage, totals, jobs."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from mlproject.logstore import tables

from .conftest import auth
from .seeding import T0, prediction_record, seed, seed_series

# ---- /api/overview ---------------------------------------------------------------------


def test_overview_has_health_model_totals_and_unknown_lineage_without_registry(client, engine):
    seed_series(engine, 4, model_version="2")
    body = client.get("/api/overview").get_json()
    assert body["health"]["log_store"]["reachable"] is True
    assert body["health"]["scoring"]["reachable"] is False
    assert body["health"]["refused_promotion"] is None
    assert body["model"] == {
        "name": "iris-classifier",
        "version": "2",
        "run_id": "run-2",
        "source": "predictions",
    }
    assert body["lineage"]["registry"] == "unreachable"
    assert body["lineage"]["data_digest"] is None
    assert body["lineage"]["run_url"] is None
    assert body["predictions_total"] == 4
    assert body["last_prediction_at"] == (T0 + timedelta(seconds=3)).isoformat()
    assert body["labelled_total"] == 0
    assert body["latest_job"] is None


def test_overview_of_an_empty_store_is_a_200_with_no_version(client):
    body = client.get("/api/overview").get_json()
    assert body["model"]["version"] is None
    assert body["lineage"]["registry"] == "not_asked"
    assert body["predictions_total"] == 0
    assert body["last_prediction_at"] is None


def test_overview_names_the_latest_retrain_job(client, engine):
    with engine.begin() as conn:
        for minutes, state in ((0, "failed"), (5, "running")):
            conn.execute(
                tables.retrain_jobs.insert().values(
                    job_id=f"00000000-0000-0000-0000-00000000000{minutes}",
                    state=state,
                    created_at=T0 + timedelta(minutes=minutes),
                )
            )
    latest = client.get("/api/overview", headers=auth()).get_json()["latest_job"]
    assert latest == {"job_id": "00000000-0000-0000-0000-000000000005", "state": "running"}


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic eDp5"])
def test_overview_tells_anonymous_users_the_latest_jobs_state_but_not_its_id(
    client, engine, header
):
    with engine.begin() as conn:
        conn.execute(
            tables.retrain_jobs.insert().values(
                job_id="00000000-0000-0000-0000-000000000007", state="running", created_at=T0
            )
        )
    response = client.get("/api/overview", headers={"Authorization": header} if header else {})
    assert response.status_code == 200
    assert response.get_json()["latest_job"] == {"state": "running"}
    assert "00000000-0000-0000-0000-000000000007" not in response.get_data(as_text=True)


class _FakeMlflow(BaseHTTPRequestHandler):
    """Answers the two MLflow REST calls the lineage lookup makes."""

    calls: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        type(self).calls.append(url.path)
        if url.path == "/api/2.0/mlflow/model-versions/get" and query["version"] == ["3"]:
            body = {
                "model_version": {
                    "name": query["name"][0],
                    "version": "3",
                    "run_id": "abc123",
                    "tags": [
                        {"key": "data_digest", "value": "f" * 64},
                        {"key": "candidate", "value": "svm"},
                        {"key": "gate.decision", "value": "promoted"},
                    ],
                }
            }
        elif url.path == "/api/2.0/mlflow/runs/get":
            body = {
                "run": {
                    "info": {"run_id": "abc123", "experiment_id": "42"},
                    "data": {"params": [{"key": "data_digest", "value": "e" * 64}]},
                }
            }
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_mlflow():
    _FakeMlflow.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeMlflow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_overview_lineage_comes_from_the_registry_with_a_link_to_the_run(
    make_app, sqlite_url, fake_mlflow
):
    app = make_app(sqlite_url, tracking_uri=fake_mlflow + "/")
    seed(app.extensions["sidecar"].engine, [prediction_record(0, model_version="3")])
    client = app.test_client()
    lineage = client.get("/api/overview").get_json()["lineage"]
    assert lineage == {
        "registry": "reachable",
        "run_id": "abc123",
        "experiment_id": "42",
        "data_digest": "f" * 64,  # the version's tag wins over the run's param
        "candidate": "svm",
        "gate_decision": "promoted",
        "run_url": f"{fake_mlflow}/#/experiments/42/runs/abc123",
        "model_url": f"{fake_mlflow}/#/models/iris-classifier/versions/3",
    }
    calls = len(_FakeMlflow.calls)
    client.get("/api/overview")
    assert len(_FakeMlflow.calls) == calls  # cached


def test_lineage_link_drops_credentials_from_the_tracking_uri():
    from sidecar.lineage import ui_base

    assert ui_base("https://user:secret@mlflow.example:8443/base/") == (
        "https://mlflow.example:8443/base"
    )
    assert ui_base("sqlite:///mlflow.db") is None
