"""Records, label keys, histogram deltas and the counter upsert."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client.utils import floatToGoString

from mlproject.logstore import immediate_transaction, increment_counters, labels_key
from mlproject.logstore import read_counters as read
from mlproject.logstore.counters import DURATION_BUCKET, go_float, latency_deltas
from mlproject.logstore.metrics import LATENCY_BUCKETS
from tests.support.records import prediction_record as prediction


def test_a_naive_timestamp_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        prediction(created_at=datetime(2025, 1, 1, 12, 0))


def test_timestamps_are_normalised_to_utc():
    record = prediction(created_at=datetime(2025, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))))
    assert record.created_at.utcoffset() == timedelta(0)
    assert record.created_at.hour == 12


def test_labels_key_is_canonical_json_whatever_the_order():
    assert labels_key({"prediction": "setosa", "model_version": "3"}) == (
        '{"model_version":"3","prediction":"setosa"}'
    )
    assert labels_key({}) == "{}"


def test_bucket_bounds_are_written_as_prometheus_client_writes_them():
    for bound in (*LATENCY_BUCKETS, float("inf")):
        assert go_float(bound) == floatToGoString(bound)


def test_one_observation_increments_every_bucket_at_or_above_it():
    deltas = latency_deltas(0.01)
    buckets = {key: value for (metric, key), value in deltas.items() if metric == DURATION_BUCKET}
    expected = [b for b in LATENCY_BUCKETS if b >= 0.01]
    assert len(buckets) == len(expected) + 1  # and +Inf
    assert buckets[labels_key({"le": "0.01"})] == 1
    assert labels_key({"le": "0.005"}) not in buckets
    assert deltas[("iris_prediction_duration_seconds_sum", "{}")] == pytest.approx(0.01)
    assert deltas[("iris_prediction_duration_seconds_count", "{}")] == 1


def test_increment_counters_adds_to_existing_values(engine):
    key = labels_key({"reason": "nan"})
    with immediate_transaction(engine) as conn:
        increment_counters(conn, {("iris_prediction_errors_total", key): 2})
    with immediate_transaction(engine) as conn:
        increment_counters(conn, {("iris_prediction_errors_total", key): 3, ("other", "{}"): 1})
    with engine.connect() as conn:
        assert read(conn) == [
            ("iris_prediction_errors_total", {"reason": "nan"}, 5.0),
            ("other", {}, 1.0),
        ]
