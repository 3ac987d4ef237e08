"""POST /feedback: 201 on a first label, 200 on a replacement, 202 pending, refusals, counter."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from mlproject.logstore import immediate_transaction, read_counters, tables
from mlproject.logstore.feedback import match_pending

from .conftest import auth
from .seeding import row_counts, seed_series


def feedback_total(engine) -> float:
    with engine.connect() as conn:
        return sum(v for m, _, v in read_counters(conn) if m == "iris_feedback_total")


def test_feedback_records_the_label_and_answers_201(client, engine):
    (record,) = seed_series(engine, 1)
    response = client.post(
        "/feedback",
        json={"prediction_id": record.prediction_id, "label": "versicolor"},
        headers=auth(),
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["prediction_id"] == record.prediction_id
    assert body["label"] == "versicolor"
    assert body["prediction"] == record.prediction
    assert body["correct"] is (record.prediction == "versicolor")
    assert body["replaced_label"] is None
    with engine.connect() as conn:
        stored = conn.execute(sa.select(tables.feedback)).one()
    assert (stored.prediction_id, stored.label) == (record.prediction_id, "versicolor")
    assert feedback_total(engine) == 1


def test_feedback_second_label_replaces_the_first_and_says_which(client, engine):
    (record,) = seed_series(engine, 1)
    body = {"prediction_id": record.prediction_id, "label": "setosa"}
    assert client.post("/feedback", json=body, headers=auth()).status_code == 201
    response = client.post("/feedback", json={**body, "label": "virginica"}, headers=auth())
    assert response.status_code == 200
    assert response.get_json()["replaced_label"] == "setosa"
    assert response.get_json()["label"] == "virginica"
    with engine.connect() as conn:
        labels = conn.execute(sa.select(tables.feedback.c.label)).scalars().all()
    assert labels == ["virginica"]
    assert feedback_total(engine) == 2


def test_feedback_accepts_an_uppercase_prediction_id(client, engine):
    (record,) = seed_series(engine, 1)
    response = client.post(
        "/feedback",
        json={"prediction_id": record.prediction_id.upper(), "label": "setosa"},
        headers=auth(),
    )
    assert response.status_code == 201


def _uuid7_made_at(seconds_ago: float) -> str:
    """A UUIDv7 whose timestamp lies ``seconds_ago`` in the past."""
    ms = int((time.time() - seconds_ago) * 1000)
    return str(uuid.UUID(int=ms << 80 | 0x7000 << 64 | 1 << 63 | 0x1234_5678_9ABC))


def test_feedback_for_a_prediction_not_stored_yet_is_held_as_pending_with_202(client, engine):
    seed_series(engine, 1)
    prediction_id = _uuid7_made_at(1.0)
    response = client.post(
        "/feedback", json={"prediction_id": prediction_id, "label": "setosa"}, headers=auth()
    )
    assert response.status_code == 202
    body = response.get_json()
    assert (body["prediction_id"], body["label"], body["status"]) == (
        prediction_id,
        "setosa",
        "pending",
    )
    with engine.connect() as conn:
        held = conn.execute(sa.select(tables.pending_feedback.c.prediction_id)).scalars().all()
    assert held == [prediction_id]
    assert feedback_total(engine) == 0


def test_a_pending_label_is_joined_when_its_prediction_arrives(client, engine):
    (record,) = seed_series(engine, 1)
    pending_id = _uuid7_made_at(1.0)
    assert (
        client.post(
            "/feedback", json={"prediction_id": pending_id, "label": "virginica"}, headers=auth()
        ).status_code
        == 202
    )
    with immediate_transaction(engine) as conn:
        conn.execute(
            tables.predictions.update()
            .where(tables.predictions.c.prediction_id == record.prediction_id)
            .values(prediction_id=pending_id)
        )
        assert match_pending(conn, datetime.now(UTC)) == 1
    with engine.connect() as conn:
        stored = conn.execute(sa.select(tables.feedback)).one()
    assert (stored.prediction_id, stored.label) == (pending_id, "virginica")
    assert feedback_total(engine) == 1


def test_feedback_rejects_a_dated_id_older_than_the_window_with_404(client, engine):
    seed_series(engine, 1)
    response = client.post(
        "/feedback",
        json={"prediction_id": _uuid7_made_at(2 * 3600), "label": "setosa"},
        headers=auth(),
    )
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
    assert feedback_total(engine) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"label": "rose"},
        {"label": ""},
        {"label": None},
        {"label": ["setosa"]},
        {"label": "Setosa"},
        {"prediction_id": "not-a-uuid"},
        {"prediction_id": 12},
        {"prediction_id": None},
        {"extra": "field"},
    ],
)
def test_feedback_rejects_a_bad_label_or_malformed_body_with_400(client, engine, body):
    (record,) = seed_series(engine, 1)
    payload = {"prediction_id": record.prediction_id, "label": "setosa", **body}
    response = client.post("/feedback", json=payload, headers=auth())
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_parameter"


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b'"setosa"', b"{", b"null"])
def test_feedback_rejects_a_body_that_is_not_a_json_object(client, raw):
    response = client.post(
        "/feedback", data=raw, headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_parameter"


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc", "Bearer", "test-token-123"])
def test_feedback_without_the_right_token_is_401_with_a_bearer_challenge(client, engine, header):
    (record,) = seed_series(engine, 1)
    before = row_counts(engine)
    response = client.post(
        "/feedback",
        json={"prediction_id": record.prediction_id, "label": "setosa"},
        headers={"Authorization": header} if header else {},
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert row_counts(engine) == before


def test_feedback_is_503_when_no_token_is_configured(make_app, sqlite_url):
    client = make_app(sqlite_url, token=None).test_client()
    response = client.post(
        "/feedback",
        json={"prediction_id": str(uuid.uuid4()), "label": "setosa"},
        headers=auth(),
    )
    assert response.status_code == 503
    assert "SIDECAR_TOKEN is not configured" in response.get_json()["message"]


def test_feedback_sql_injection_in_prediction_id_is_refused(client, engine):
    seed_series(engine, 2)
    before = row_counts(engine)
    response = client.post(
        "/feedback", json={"prediction_id": "x' OR '1'='1", "label": "setosa"}, headers=auth()
    )
    assert response.status_code == 400
    assert row_counts(engine) == before
