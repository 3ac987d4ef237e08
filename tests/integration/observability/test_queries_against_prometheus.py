"""Every dashboard query and alert expression, run by a real Prometheus over a real sidecar.

The scoring edge's queries (HAProxy's series) run in test_edge_queries_against_prometheus.py
against a real HAProxy; this module covers the rest.

promtool proves the PromQL parses; this proves it selects what the sidecar really exposes.
The sidecar runs under gunicorn (scripts/run-sidecar.sh) over a SQLite log store filled
through the project's own writers: predictions of two versions and three classes (the
latest with petal_length shifted, so drift is real), rejections, labels through
POST /feedback, retrain jobs, and model switches including a refused promotion. A real
``prometheus`` scrapes it every second and evaluates a copy of prometheus/alerts.yml.
"""

from __future__ import annotations

import time

import pytest
import requests

from mlproject.logstore import create_store_engine
from tests.support.processes import REPO_ROOT, Server, stop_process
from tests.support.stack import start_sidecar

from .conftest import require_tool
from .observability_traffic import TOKEN, label, record_lifecycle, record_trial, write_traffic
from .prometheus_queries import (
    alert_rules,
    dashboard_queries,
    query,
    start_prometheus,
    wait_for_samples,
)

pytestmark = pytest.mark.slow

# Queries that may legitimately be empty for this traffic, and the selector that must
# return data instead (so the metric is known to exist and the emptiness is the filter's).
EMPTY_ALERTS_ALLOWED = {
    "IrisPredictionErrorRatioHigh": (
        "iris_prediction_errors_total",
        "counters are flat between scrapes after the traffic, so the 5m ratio can sit below 5%",
    ),
    "IrisPredictionLatencyHigh": (
        "iris_prediction_duration_seconds_bucket",
        "test predictions take milliseconds, far below the 500 ms threshold",
    ),
    "IrisPredictionLogRowsDropped": (
        "iris_prediction_log_dropped_total",
        "the writer dropped nothing (the counter is exposed at 0)",
    ),
    "IrisLiveAccuracyLow": (
        "iris_live_accuracy",
        "labels agree with most predictions, accuracy stays above 85%",
    ),
    "IrisTargetDown": ("up", "the sidecar is up, so up == 0 selects nothing"),
    "IrisRetrainFailed": (
        'iris_retrain_jobs_total{status="failed"}',
        "the failure predates Prometheus (flat counter, and no scrape an hour ago)",
    ),
    "IrisPromotionRefused": (
        "iris_promotion_refused_total",
        "the refusal predates Prometheus (flat counter, and no scrape an hour ago)",
    ),
}


# ---------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Store with traffic, a gunicorn sidecar over it and Prometheus scraping it (per module)."""
    tmp_path = tmp_path_factory.mktemp("observability-stack")
    binary = require_tool("prometheus", "running the dashboard and alert queries for real")
    store_url = f"sqlite:///{tmp_path / 'predictions.db'}"
    engine = create_store_engine(store_url)
    servers: list[Server] = []
    try:
        records = write_traffic(engine, 0, 300, first_shifted=50)
        record_lifecycle(store_url, engine, tmp_path)
        record_trial(engine, records[-30:], tmp_path)
        sidecar = start_sidecar(
            store_url,
            tmp_path,
            tracking_uri=f"sqlite:///{tmp_path / 'no-tracking' / 'mlflow.db'}",
            token=TOKEN,
            isolated=True,  # nothing from the shell that started pytest
            extra_env={"IRIS_DATA_PATH": str(REPO_ROOT / "data" / "iris.csv")},
        )
        servers.append(sidecar)
        label(sidecar, records[-30:])
        # A 200 before the first scrape: a series that first appears later has no rate().
        assert requests.get(f"{sidecar.url}/drift", timeout=30).status_code == 200
        prometheus = start_prometheus(binary, sidecar.port, tmp_path)
        servers.append(prometheus)
        wait_for_samples(prometheus, 'up{job="sidecar"}', 3)
        # A second wave between scrapes, so every rate() sees counters move.
        label(sidecar, write_traffic(engine, 300, 40, first_shifted=300)[-10:])
        for _ in range(3):
            requests.get(f"{sidecar.url}/drift", timeout=10)
        wait_for_samples(prometheus, "iris_predictions_total", 6)
        yield sidecar, prometheus
    finally:
        for server in reversed(servers):
            stop_process(server.process)
        engine.dispose()


def test_every_dashboard_query_and_alert_expression_runs_against_real_prometheus(stack):
    sidecar, prometheus = stack
    empty_panels, nan_panels = [], []
    for where, expr in dashboard_queries():
        result = query(prometheus, expr)["result"]
        if not result:
            empty_panels.append(where)
        elif all(series["value"][1] == "NaN" for series in result):
            nan_panels.append(where)  # e.g. a rate() that never saw its counter move
    assert empty_panels == [], "dashboard queries that returned no data"
    assert nan_panels == [], "dashboard queries that returned only NaN"

    explained = []
    for rule in alert_rules():
        result = query(prometheus, rule["expr"])["result"]
        if result:
            continue
        assert rule["alert"] in EMPTY_ALERTS_ALLOWED, f"{rule['alert']} returned nothing"
        selector, why = EMPTY_ALERTS_ALLOWED[rule["alert"]]
        inner = query(prometheus, selector)["result"]
        assert inner, f"{rule['alert']}: its selector {selector} has no data either"
        explained.append(f"{rule['alert']}: {why}")
    print("alert expressions empty for this traffic, each with data under it:", *explained)


def test_the_drift_alert_is_raised_for_the_shifted_feature_only(stack):
    sidecar, prometheus = stack
    drift = requests.get(f"{sidecar.url}/drift", timeout=10).json()
    assert drift["features"]["petal_length"]["status"] == "drift"
    [rule] = [rule for rule in alert_rules() if rule["alert"] == "IrisFeatureDrift"]
    evaluated = query(prometheus, rule["expr"])["result"]
    assert [series["metric"]["feature"] for series in evaluated] == ["petal_length"]

    deadline = time.monotonic() + 15
    alerts: list = []
    while time.monotonic() < deadline:
        body = requests.get(f"{prometheus.url}/api/v1/alerts", timeout=10).json()
        alerts = [
            a for a in body["data"]["alerts"] if a["labels"]["alertname"] == "IrisFeatureDrift"
        ]
        if alerts:
            break
        time.sleep(0.5)
    assert [(a["labels"]["feature"], a["state"]) for a in alerts] == [("petal_length", "pending")]
