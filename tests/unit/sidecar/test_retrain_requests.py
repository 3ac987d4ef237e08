"""POST /retrain and GET /retrain/<id>: authentication and validation before any job runs."""

from __future__ import annotations

import uuid

import pytest

from mlproject.logstore import tables

from .conftest import TOKEN, auth
from .seeding import T0, row_counts


@pytest.fixture
def client(sqlite_app):
    return sqlite_app.test_client()


@pytest.fixture
def engine(sqlite_app):
    return sqlite_app.extensions["sidecar"].engine


@pytest.mark.parametrize("header", [None, "Bearer nope", "Token test-token-123"])
def test_retrain_without_the_right_token_is_401_and_starts_nothing(client, engine, header):
    response = client.post("/retrain", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert row_counts(engine)["retrain_jobs"] == 0


def test_retrain_is_503_when_no_token_is_configured(make_app, sqlite_url):
    client = make_app(sqlite_url, token=None).test_client()
    response = client.post("/retrain", headers=auth())
    assert response.status_code == 503
    assert "SIDECAR_TOKEN is not configured" in response.get_json()["message"]


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"include_feedback": "yes"}, "include_feedback"),
        ({"include_feedback": 1}, "include_feedback"),
        ({"evaluation_data_path": "/etc/passwd"}, "evaluation_data_path"),
        ({"candidates": "linear_regression"}, "candidates"),
        ({"candidates": 3}, "candidates"),
        ({"cv_folds": 1}, "cv_folds"),
        ({"cv_folds": "5"}, "cv_folds"),
        ({"cv_folds": True}, "cv_folds"),
        ({"seed": -1}, "seed"),
        ({"test_size": 0.9}, "test_size"),
        ({"test_size": "0.2"}, "test_size"),
    ],
)
def test_retrain_rejects_unknown_or_mistyped_parameters(client, engine, body, parameter):
    response = client.post("/retrain", json=body, headers=auth())
    assert response.status_code == 400
    assert response.get_json()["parameter"] == parameter
    assert row_counts(engine)["retrain_jobs"] == 0


@pytest.mark.parametrize("raw", [b"[]", b"not json", b"1"])
def test_retrain_rejects_a_body_that_is_not_an_object(client, raw):
    response = client.post(
        "/retrain", data=raw, headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize("job_id", ["abc", "1", "' OR 1=1 --", "0" * 36])
def test_job_status_rejects_an_id_that_is_not_a_uuid(client, job_id):
    response = client.get(f"/retrain/{job_id}", headers=auth())
    assert response.status_code == 400
    assert response.get_json()["parameter"] == "job_id"


def test_job_status_is_404_for_an_unknown_job(client):
    response = client.get(f"/retrain/{uuid.uuid4()}", headers=auth())
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong-token", "Basic dXNlcjpwYXNz", "Bearer ", TOKEN]
)
def test_job_status_without_the_right_token_is_401_and_says_nothing_of_the_job(
    client, engine, header
):
    job_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            tables.retrain_jobs.insert().values(job_id=job_id, state="running", created_at=T0)
        )
    response = client.get(f"/retrain/{job_id}", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert job_id not in response.get_data(as_text=True)
    assert client.get(f"/retrain/{job_id}", headers=auth()).get_json()["state"] == "running"


def test_job_status_is_503_when_no_token_is_configured(make_app, sqlite_url):
    client = make_app(sqlite_url, token=None).test_client()
    response = client.get(f"/retrain/{uuid.uuid4()}", headers=auth())
    assert response.status_code == 503
    assert "SIDECAR_TOKEN" in response.get_json()["message"]


def test_unknown_routes_and_methods_answer_json(client):
    assert client.get("/nope").get_json()["error"] == "not_found"
    response = client.put("/logs")
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_index_lists_the_endpoints(client):
    endpoints = client.get("/").get_json()["endpoints"]
    assert {"GET /logs", "POST /feedback", "POST /retrain", "GET /metrics"} <= set(endpoints)
