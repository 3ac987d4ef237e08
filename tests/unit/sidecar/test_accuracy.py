"""Labelled share and label delay beside live accuracy, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sidecar.timeutil import utcnow

from .conftest import auth
from .seeding import prediction_record, seed, seed_series


def gauge(client, name: str) -> float | None:
    """The single sample of gauge ``name``, or None when the family has no sample."""
    text = client.get("/metrics").get_data(True)
    [family] = [f for f in text_string_to_metric_families(text) if f.name == name]
    assert len(family.samples) <= 1
    return family.samples[0].value if family.samples else None


def label(client, record, true_label: str | None = None) -> None:
    body = {"prediction_id": record.prediction_id, "label": true_label or record.prediction}
    assert client.post("/feedback", json=body, headers=auth()).status_code in (200, 201)


def test_without_predictions_there_is_no_labelled_ratio_and_no_delay(client):
    assert gauge(client, "iris_feedback_labelled_ratio") is None
    assert gauge(client, "iris_label_delay_seconds") is None


def test_labelled_ratio_is_the_share_of_recent_predictions_with_a_label(client, engine):
    records = seed_series(engine, 10)
    assert gauge(client, "iris_feedback_labelled_ratio") == 0.0
    for record in records[:4]:
        label(client, record)
    assert gauge(client, "iris_feedback_labelled_ratio") == 0.4


def test_labelled_ratio_covers_only_the_latest_predictions(make_app, store_url, monkeypatch):
    app = make_app(store_url)
    monkeypatch.setattr(app.extensions["sidecar.metrics"]["collector"], "_window", 5)
    client, engine = app.test_client(), app.extensions["sidecar"].engine
    records = seed_series(engine, 10)
    for record in records[:5]:  # the five oldest: outside the window
        label(client, record)
    label(client, records[-1])
    assert gauge(client, "iris_feedback_labelled_ratio") == 0.2


def test_label_delay_is_the_median_seconds_from_prediction_to_label(client, engine):
    now = utcnow()
    ago = (600, 120, 60)
    records = seed(
        engine, [prediction_record(i, when=now - timedelta(seconds=s)) for i, s in enumerate(ago)]
    )
    for record in records:
        label(client, record)
    assert gauge(client, "iris_label_delay_seconds") == pytest.approx(120, abs=5)


def test_a_replaced_label_keeps_the_delay_of_its_first_label(client, engine):
    [record] = seed(engine, [prediction_record(0, when=utcnow() - timedelta(seconds=300))])
    label(client, record, "setosa")
    first = gauge(client, "iris_label_delay_seconds")
    label(client, record, "virginica")
    assert gauge(client, "iris_label_delay_seconds") == first
    assert first == pytest.approx(300, abs=5)


def test_the_dashboard_and_the_metric_report_the_same_live_accuracy(client, engine):
    records = seed(engine, [prediction_record(i, model_version=str(1 + i % 2)) for i in range(7)])
    for index, record in enumerate(records):
        wrong = next(name for name in ("setosa", "virginica") if name != record.prediction)
        label(client, record, record.prediction if index % 3 else wrong)
    body = client.get("/api/accuracy").get_json()
    assert body["accuracy"] == pytest.approx(gauge(client, "iris_live_accuracy"))
    assert body["labelled"] == gauge(client, "iris_live_accuracy_labelled") == 7
    assert [v["model_version"] for v in body["by_version"]] == ["1", "2"]
    assert sum(v["correct"] for v in body["by_version"]) == body["correct"] == 4
