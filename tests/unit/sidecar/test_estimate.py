"""The label-free accuracy estimate per version, over the log store (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from mlproject.cbpe import fit_calibration
from mlproject.logstore import tables
from sidecar.monitoring.estimate import EstimateMonitor, estimate_metrics
from sidecar.timeutil import utcnow

from .seeding import T0, prediction_record, seed

# Confidence 0.9 (what the seeded rows carry) is right 9 times in 10; 0.6 half the time.
CALIBRATION = fit_calibration(
    [0.6] * 10 + [0.9] * 100, [True, False] * 5 + [True] * 90 + [False] * 10
)


class FixedCalibrations:
    """The versions' calibrations, as CalibrationSource would return them from MLflow."""

    def __init__(self, by_version: dict) -> None:
        self.by_version = by_version

    def get(self, version: str):
        return self.by_version.get(version)


def label(engine, records, correct: int) -> None:
    """Label ``records``: the first ``correct`` with the predicted class, the rest otherwise."""
    now = utcnow()
    rows = []
    for index, record in enumerate(records):
        truth = (
            record.prediction
            if index < correct
            else "setosa"
            if record.prediction != "setosa"
            else "virginica"
        )
        rows.append(
            {
                "prediction_id": record.prediction_id,
                "label": truth,
                "created_at": now,
                "updated_at": now,
            }
        )
    with engine.begin() as conn:
        conn.execute(sa.insert(tables.feedback), rows)


def test_each_calibrated_version_gets_an_estimate_with_its_interval(engine):
    seed(engine, [prediction_record(i, model_version="1") for i in range(40)])
    seed(engine, [prediction_record(i, model_version="9") for i in range(5)])  # uncalibrated
    monitor = EstimateMonitor(engine, FixedCalibrations({"1": CALIBRATION}), window=200)
    [entry] = monitor.current()
    assert entry["version"] == "1"
    found = entry["estimate"]
    assert found["rows"] == 40
    expected = (90 + 1) / (100 + 2)  # the 0.9 block, Laplace-smoothed
    assert abs(found["accuracy"] - expected) < 1e-9
    assert found["lower"] < found["accuracy"] < found["upper"]
    assert entry["live"] is None


def test_shadow_answers_count_for_the_version_that_gave_them(engine):
    records = seed(engine, [prediction_record(i, model_version="1") for i in range(10)])
    with engine.begin() as conn:
        conn.execute(
            sa.insert(tables.shadow_predictions),
            [
                {
                    "prediction_id": r.prediction_id,
                    "model_version": "2",
                    "role": "challenger",
                    "prediction": "virginica",
                    "class_index": 2,
                    "probabilities": {"setosa": 0.2, "versicolor": 0.2, "virginica": 0.6},
                    "created_at": T0,
                }
                for r in records
            ],
        )
    calibrations = FixedCalibrations({"1": CALIBRATION, "2": CALIBRATION})
    by_version = {e["version"]: e for e in EstimateMonitor(engine, calibrations, 200).current()}
    assert by_version["1"]["estimate"]["rows"] == 10
    assert by_version["2"]["estimate"]["rows"] == 10
    assert by_version["2"]["estimate"]["accuracy"] < by_version["1"]["estimate"]["accuracy"]


def test_live_accuracy_inside_the_interval_keeps_the_gap_small(engine):
    records = seed(engine, [prediction_record(i) for i in range(100)])
    label(engine, records, correct=90)
    [entry] = EstimateMonitor(engine, FixedCalibrations({"1": CALIBRATION}), 200).current()
    assert entry["live"]["labelled"] == 100
    assert entry["live"]["accuracy"] == 0.9
    assert abs(entry["live"]["gap_zscore"]) < 1.96


def test_live_accuracy_far_below_the_estimate_shows_as_a_large_negative_gap(engine):
    records = seed(engine, [prediction_record(i) for i in range(100)])
    label(engine, records, correct=60)
    [entry] = EstimateMonitor(engine, FixedCalibrations({"1": CALIBRATION}), 200).current()
    assert entry["live"]["gap_zscore"] < -5
    metrics = {m.name: m for m in estimate_metrics([entry], 200)}
    [gap] = metrics["iris_estimated_accuracy_gap_zscore"].samples
    assert gap.labels == {"version": "1"} and gap.value < -5
    [labelled] = metrics["iris_estimated_accuracy_labelled"].samples
    assert labelled.value == 100


def test_the_window_bounds_the_rows_read(engine):
    seed(engine, [prediction_record(i) for i in range(30)])
    [entry] = EstimateMonitor(engine, FixedCalibrations({"1": CALIBRATION}), 12).current()
    assert entry["estimate"]["rows"] == 12


def test_the_dashboard_api_shows_the_estimate_beside_live_accuracy(client, engine):
    seed(engine, [prediction_record(i) for i in range(3)])
    body = client.get("/api/accuracy").get_json()
    # The unit app's tracking URI answers nothing, so no calibration and no estimate.
    assert body["estimated"] == []
