"""The /api/... documents the dashboard polls: stats, errors, accuracy, drift; refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from mlproject.config import CLASSES
from mlproject.logstore import LogWriter, tables
from sidecar.views.dashboard import drift_rows
from tests.support.records import rejection_record

from .conftest import auth
from .seeding import T0, prediction_record, seed, seed_series

# ---- /api/stats ------------------------------------------------------------------------


def test_stats_counts_classes_buckets_and_latency_over_the_window(client, engine):
    seed_series(engine, 30)  # classes cycle setosa, versicolor, virginica; 2..10 ms
    body = client.get("/api/stats?window=12&buckets=4").get_json()
    assert body["window"] == 12 and body["count"] == 12
    assert body["class_mix"] == {"setosa": 4, "versicolor": 4, "virginica": 4}
    assert [sum(b["class_mix"].values()) for b in body["buckets"]] == [3, 3, 3, 3]
    assert body["buckets"][0]["from"] == (T0 + timedelta(seconds=18)).isoformat()
    assert body["to"] == (T0 + timedelta(seconds=29)).isoformat()
    latency = body["latency_seconds"]
    latencies = sorted(0.002 * (1 + i % 5) for i in range(18, 30))
    assert latency["p50"] == pytest.approx((latencies[5] + latencies[6]) / 2)
    assert latencies[10] <= latency["p95"] <= latencies[11]
    assert latency["max"] == pytest.approx(0.010)
    assert len(latency["series"]) == 12
    assert body["versions"] == {"1": 12}


def test_stats_of_an_empty_log_is_a_200_with_nothing_in_it(client):
    body = client.get("/api/stats").get_json()
    assert body["count"] == 0 and body["buckets"] == []
    assert body["class_mix"] == {"setosa": 0, "versicolor": 0, "virginica": 0}
    assert body["latency_seconds"] == {"p50": None, "p95": None, "max": None, "series": []}


def test_stats_sparkline_keeps_the_latest_sixty_points(sqlite_app):
    seed_series(sqlite_app.extensions["sidecar"].engine, 70)
    body = sqlite_app.test_client().get("/api/stats?window=5000&buckets=60").get_json()
    assert body["count"] == 70
    assert len(body["latency_seconds"]["series"]) == 60
    assert len(body["buckets"]) == 35  # two predictions per slice


# ---- /api/errors -----------------------------------------------------------------------


def rejections(engine, reasons):
    writer = LogWriter(engine)
    writer.start()
    for index, reason in enumerate(reasons):
        writer.submit_rejection(
            rejection_record(
                created_at=T0 + timedelta(seconds=index),
                model_version="1",
                request_id=None,
                reason=reason,
                field="petal_width",
                row_index=index,
                message=f"row {index}: <b>{reason}</b>",
            )
        )
    assert writer.flush(timeout=30)
    writer.close()


def test_errors_counts_rejections_by_reason_and_lists_the_latest(client, engine):
    rejections(engine, ["negative", "not_a_number", "negative", "empty_batch", "negative"])
    body = client.get("/api/errors?limit=2").get_json()
    assert body["total"] == 5
    assert body["by_reason"] == [
        {"reason": "negative", "count": 3},
        {"reason": "empty_batch", "count": 1},
        {"reason": "not_a_number", "count": 1},
    ]
    assert [r["row_index"] for r in body["recent"]] == [4, 3]
    assert body["recent"][0]["message"] == "row 4: <b>negative</b>"  # the page escapes it


# ---- /api/accuracy ---------------------------------------------------------------------


def test_accuracy_covers_the_latest_labelled_predictions_per_version(make_app, store_url):
    app = make_app(store_url)
    client = app.test_client()
    records = seed(
        app.extensions["sidecar"].engine,
        [prediction_record(i, model_version="1" if i < 3 else "2") for i in range(6)],
    )
    for record, correct in zip(records, [True, False, True, True, True, False], strict=True):
        label = record.prediction if correct else next(c for c in CLASSES if c != record.prediction)
        body = {"prediction_id": record.prediction_id, "label": label}
        assert client.post("/feedback", json=body, headers=auth()).status_code == 201
    body = client.get("/api/accuracy").get_json()
    assert (body["labelled"], body["correct"], body["labelled_total"]) == (6, 4, 6)
    assert body["accuracy"] == pytest.approx(4 / 6)
    assert body["by_version"] == [
        {"model_version": "1", "labelled": 3, "correct": 2, "accuracy": pytest.approx(2 / 3)},
        {"model_version": "2", "labelled": 3, "correct": 2, "accuracy": pytest.approx(2 / 3)},
    ]
    latest = client.get("/api/accuracy?window=2").get_json()
    assert (latest["labelled"], latest["labelled_total"]) == (2, 6)


def test_accuracy_without_feedback_is_null_not_zero(client):
    body = client.get("/api/accuracy").get_json()
    assert body["accuracy"] is None and body["labelled"] == 0
    assert body["window"] == 200  # IRIS_ACCURACY_WINDOW's default


# ---- /api/drift ------------------------------------------------------------------------


def test_too_few_predictions_is_a_report_with_its_message_and_no_rows(sqlite_app):
    body = sqlite_app.test_client().get("/api/drift").get_json()
    assert body["status"] == "insufficient_data"
    assert "at least" in body["message"]
    assert body["features"] == []


def test_drift_report_becomes_one_row_per_feature():
    report = {
        "status": "drift",
        "window": {"size": 250, "rows": 250},
        "features": {
            "petal_width": {"psi": float("nan"), "ks_pvalue": None, "status": "weird"},
            "sepal_length": {"psi": 0.31, "ks_pvalue": 1e-9, "status": "drift"},
            "sepal_width": {"psi": 0.12, "ks_pvalue": 0.2, "status": "moderate"},
            "petal_length": {"psi": 0.01, "ks_pvalue": 0.9, "status": "ok"},
        },
    }
    body = drift_rows(report)
    assert (body["status"], body["window"], body["rows"]) == ("drift", 250, 250)
    assert body["features"] == [
        {"feature": "sepal_length", "psi": 0.31, "ks_pvalue": 1e-9, "status": "drift"},
        {"feature": "sepal_width", "psi": 0.12, "ks_pvalue": 0.2, "status": "moderate"},
        {"feature": "petal_length", "psi": 0.01, "ks_pvalue": 0.9, "status": "ok"},
        {"feature": "petal_width", "psi": None, "ks_pvalue": None, "status": "unknown"},
    ]


def test_drift_through_the_real_app_is_always_a_200(client):
    response = client.get("/api/drift")
    assert response.status_code == 200
    assert isinstance(response.get_json()["features"], list)


# ---- bad parameters and outages ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "parameter"),
    [
        ("/api/stats", {"window": "0"}, "window"),
        ("/api/stats", {"window": "5001"}, "window"),
        ("/api/stats", {"window": "ten"}, "window"),
        ("/api/stats", {"buckets": "61"}, "buckets"),
        ("/api/stats", {"buckets": "-1"}, "buckets"),
        ("/api/stats", {"since": "now"}, "since"),
        ("/api/errors", {"limit": "101"}, "limit"),
        ("/api/errors", {"limit": "1; DROP TABLE rejections"}, "limit"),
        ("/api/accuracy", {"window": "10001"}, "window"),
        ("/api/accuracy", {"window": ""}, "window"),
        ("/api/overview", {"verbose": "1"}, "verbose"),
        ("/api/drift", {"feature": "sepal_length"}, "feature"),
    ],
)
def test_dashboard_api_refuses_each_bad_parameter_with_a_400(client, path, query, parameter):
    response = client.get(path, query_string=query)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_parameter"
    assert body["parameter"] == parameter


def test_dashboard_api_refuses_repeated_parameters(sqlite_app):
    response = sqlite_app.test_client().get("/api/stats?window=5&window=6")
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/api/overview", "/api/stats", "/api/errors", "/api/accuracy"])
def test_dashboard_api_answers_503_when_the_log_store_is_down(make_app, path):
    client = make_app("postgresql+psycopg://postgres@127.0.0.1:9/iris").test_client()
    response = client.get(path)
    assert response.status_code == 503
    assert response.get_json()["error"] == "store_unavailable"


def test_dashboard_api_is_read_only(client, engine):
    seed_series(engine, 3)
    with engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(tables.predictions)).scalar()
    for path in ("/api/overview", "/api/stats", "/api/errors", "/api/accuracy", "/api/drift"):
        assert client.get(path).status_code == 200, path
        assert client.post(path).status_code == 405, path
    with engine.connect() as conn:
        after = conn.execute(sa.select(sa.func.count()).select_from(tables.predictions)).scalar()
    assert before == after == 3
