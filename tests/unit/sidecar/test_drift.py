"""Drift: the PSI and KS arithmetic, the calibration of the defaults, /drift and its gauges.

The calibration tests draw windows from the training rows themselves, so every alarm they
raise is a false one; the figures they measure are quoted in docs/OBSERVABILITY.md.
"""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mlproject.config import FEATURES
from mlproject.data import load_dataset, split_dataset
from mlproject.reference import build_reference
from sidecar.config import DriftSettings, SidecarSettings
from sidecar.monitoring.drift import PSI_EPSILON, bin_shares, judge, psi
from sidecar.monitoring.drift_reference import Reference
from tests.support.processes import REPO_ROOT
from tests.support.stack import sqlite_tracking_uri, train

from .seeding import prediction_record, seed

IRIS_CSV = REPO_ROOT / "data" / "iris.csv"
DEFAULTS = DriftSettings()
RESAMPLED_WINDOWS = 500


@pytest.fixture(scope="module")
def training():
    """The training rows and reference exactly as training builds them (split 0.2, seed 42)."""
    split = split_dataset(load_dataset(IRIS_CSV), test_size=0.2, seed=42)
    payload = build_reference(split.x_train)
    reference = Reference(payload["features"], payload["rows"], "1", "mlflow", "test")
    return split.x_train.to_numpy(dtype="float64"), reference


@pytest.fixture
def data_csv(tmp_path):
    """The real versioned CSV (the unit conftest's six rows are too few for a reference)."""
    path = tmp_path / "data" / "iris.csv"
    path.parent.mkdir()
    shutil.copy(IRIS_CSV, path)
    return path


def alarm_rates(rows, reference, window, *, shift=0.0, draws=RESAMPLED_WINDOWS, seed=7):
    """Share of ``draws`` resampled windows judged "drift" (any feature) and KS-significant."""
    rng = np.random.default_rng(seed)
    column = FEATURES.index("petal_length")
    shift_cm = shift * reference.features["petal_length"]["std"]
    drift = significant = 0
    for _ in range(draws):
        sample = rows[rng.integers(0, len(rows), window)].copy()
        sample[:, column] += shift_cm
        report = judge(reference, sample, DEFAULTS)
        drift += report["status"] == "drift"
        significant += any(f["ks_pvalue"] < DEFAULTS.ks_pvalue for f in report["features"].values())
    return drift / draws, significant / draws


def shifted_rows(count: int, *, shift_petal_length: float = 0.0, seed: int = 3):
    """``count`` predictions whose features are drawn from the real CSV (petal_length shifted)."""
    frame = load_dataset(IRIS_CSV).features
    rng = np.random.default_rng(seed)
    records = []
    for index, row in enumerate(frame.to_numpy()[rng.integers(0, len(frame), count)]):
        values = dict(zip(FEATURES, (float(v) for v in row), strict=True))
        values["petal_length"] += shift_petal_length
        records.append(dataclasses.replace(prediction_record(index), **values))
    return records


def metric_samples(client) -> dict[str, list]:
    text = client.get("/metrics").get_data(True)
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


# ---------------------------------------------------------------- the arithmetic


def test_psi_is_zero_when_the_live_shares_equal_the_training_shares():
    assert psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0


def test_psi_of_an_empty_bin_is_finite_because_shares_are_floored_at_epsilon():
    value = psi([0.5, 0.5], [1.0, 0.0])
    expected = (1.0 - 0.5) * np.log(1.0 / 0.5) + (PSI_EPSILON - 0.5) * np.log(PSI_EPSILON / 0.5)
    assert value == pytest.approx(expected)
    assert np.isfinite(value)


def test_a_value_on_a_bin_edge_falls_in_the_upper_bin_as_in_the_training_reference():
    assert bin_shares([1.0, 2.0], np.array([0.5, 1.0, 2.0, 2.5])).tolist() == [0.25, 0.25, 0.5]


def test_the_window_judged_against_its_own_training_rows_shows_no_drift(training):
    rows, reference = training
    report = judge(reference, rows, DEFAULTS)
    assert report["status"] == "ok"
    assert all(f["psi"] < 1e-9 and f["ks_pvalue"] == 1.0 for f in report["features"].values())


# ---------------------------------------------------------------- calibration


def test_resampled_training_windows_raise_under_five_percent_false_alarms_at_the_default(
    training,
):
    rows, reference = training
    false_drift, false_ks = alarm_rates(rows, reference, DEFAULTS.window)
    assert DEFAULTS.window == 250
    assert false_drift < 0.05, f"PSI false alarms {false_drift:.1%} at window {DEFAULTS.window}"
    assert false_ks < 0.05, f"KS false alarms {false_ks:.1%} at window {DEFAULTS.window}"


def test_windows_with_petal_length_shifted_two_standard_deviations_nearly_always_alarm(
    training,
):
    rows, reference = training
    detected, ks_detected = alarm_rates(rows, reference, DEFAULTS.window, shift=2.0)
    assert detected >= 0.99
    assert ks_detected >= 0.99


def test_the_minimum_rows_still_keep_false_alarms_under_five_percent(training):
    rows, reference = training
    false_drift, _ = alarm_rates(rows, reference, DEFAULTS.min_rows)
    assert false_drift < 0.05


def test_a_window_of_100_would_be_too_noisy_which_is_why_the_default_is_larger(training):
    rows, reference = training
    false_drift, _ = alarm_rates(rows, reference, 100)
    assert false_drift > 0.05


# ---------------------------------------------------------------- settings


def test_drift_settings_come_from_the_environment():
    settings = SidecarSettings.from_env(
        {
            "IRIS_DRIFT_WINDOW": "400",
            "IRIS_DRIFT_MIN_ROWS": "300",
            "IRIS_DRIFT_PSI_THRESHOLD": "0.25",
            "IRIS_DRIFT_KS_PVALUE": "0.001",
        }
    )
    assert settings.drift == DriftSettings(
        window=400, min_rows=300, psi_threshold=0.25, ks_pvalue=0.001
    )
    assert SidecarSettings.from_env({}).drift == DriftSettings(250, 200, 0.2, 0.01)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IRIS_DRIFT_WINDOW", "0"),
        ("IRIS_DRIFT_PSI_THRESHOLD", "-0.2"),
        ("IRIS_DRIFT_PSI_THRESHOLD", "nan"),
        ("IRIS_DRIFT_KS_PVALUE", "1.5"),
        ("IRIS_DRIFT_KS_PVALUE", "often"),
    ],
)
def test_drift_settings_refuse_values_that_cannot_be_thresholds(name, value):
    with pytest.raises(ValueError, match=name):
        SidecarSettings.from_env({name: value})


# ---------------------------------------------------------------- /drift and /metrics


def test_drift_is_not_judged_below_the_minimum_rows_and_says_so(client, engine):
    seed(engine, shifted_rows(DEFAULTS.min_rows - 1))
    body = client.get("/drift").get_json()
    assert body["status"] == "insufficient_data"
    assert body["window"]["rows"] == DEFAULTS.min_rows - 1
    assert body["features"] == {}
    assert "at least 200" in body["message"]
    samples = metric_samples(client)
    assert samples["iris_feature_drift_psi"] == []
    assert samples["iris_drift_window_size"][0].value == DEFAULTS.min_rows - 1


def test_a_shifted_petal_length_is_drift_on_that_feature_against_the_csv_fallback(client, engine):
    seed(engine, shifted_rows(DEFAULTS.window, shift_petal_length=3.5))
    body = client.get("/drift").get_json()
    assert body["status"] == "drift"
    assert body["features"]["petal_length"]["status"] == "drift"
    assert body["features"]["petal_length"]["ks_pvalue"] < 1e-6
    assert {f["status"] for n, f in body["features"].items() if n != "petal_length"} <= {
        "ok",
        "moderate",
    }
    # The tracking URI of the unit tests answers nothing, so the CSV stands in and says so.
    assert body["reference"]["source"] == "data_csv"
    assert body["reference"]["version"] == "1"
    assert "unavailable" in body["reference"]["note"]
    assert body["window"] == {**body["window"], "size": 250, "rows": 250, "min_rows": 200}


def test_gauges_report_psi_and_ks_pvalue_per_feature(client, engine):
    seed(engine, shifted_rows(DEFAULTS.window, shift_petal_length=3.5))
    body = client.get("/drift").get_json()
    samples = metric_samples(client)
    psi_by_feature = {s.labels["feature"]: s.value for s in samples["iris_feature_drift_psi"]}
    assert psi_by_feature == pytest.approx({n: f["psi"] for n, f in body["features"].items()})
    pvalues = {s.labels["feature"] for s in samples["iris_feature_drift_ks_pvalue"]}
    assert pvalues == set(FEATURES)
    assert psi_by_feature["petal_length"] > DEFAULTS.psi_threshold


def test_the_window_holds_only_the_latest_predictions(sqlite_app):
    engine = sqlite_app.extensions["sidecar"].engine
    seed(engine, shifted_rows(300, shift_petal_length=3.5, seed=1))
    seed(engine, shifted_rows(DEFAULTS.window, seed=2))
    body = sqlite_app.test_client().get("/drift").get_json()
    assert body["features"]["petal_length"]["status"] != "drift"
    assert body["window"]["first_seq"] == 301 and body["window"]["last_seq"] == 550


def test_the_report_is_computed_once_for_several_requests(sqlite_app):
    client = sqlite_app.test_client()
    engine = sqlite_app.extensions["sidecar"].engine
    seed(engine, shifted_rows(DEFAULTS.window))
    first = client.get("/drift").get_json()
    seed(engine, shifted_rows(10, shift_petal_length=3.5))
    client.get("/metrics")
    assert client.get("/drift").get_json() == first


# ---------------------------------------------------------------- the reference from MLflow


@pytest.mark.slow
def test_the_reference_is_the_served_versions_artifact_from_mlflow(make_app, sqlite_url, tmp_path):
    tracking_uri = sqlite_tracking_uri(tmp_path)
    train(tracking_uri, tmp_path / "training", "--candidates", "logistic_regression")
    app = make_app(sqlite_url, tracking_uri=tracking_uri)
    seed(app.extensions["sidecar"].engine, shifted_rows(DEFAULTS.window))
    body = app.test_client().get("/drift").get_json()
    reference = body["reference"]
    assert (reference["version"], reference["source"], reference["note"]) == ("1", "mlflow", None)
    assert reference["uri"].endswith("/artifacts/drift_reference.json")
    assert reference["rows"] == 120  # the training split, not the whole CSV (150)
    assert body["status"] in {"ok", "moderate"}
