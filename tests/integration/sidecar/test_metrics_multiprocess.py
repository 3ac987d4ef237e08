"""/metrics under gunicorn multiprocess mode: HTTP metrics, store counters, valid exposition."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import requests
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from mlproject.logstore import create_store_engine, tables
from tests.unit.sidecar.seeding import prediction_record, seed

pytestmark = pytest.mark.slow


def families(text: str) -> dict[str, list]:
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def test_metrics_under_gunicorn_have_http_metrics_and_counts_equal_store_rows(
    store_url, start_sidecar
):
    engine = create_store_engine(store_url)
    records = seed(engine, [prediction_record(i, model_version=str(1 + i % 3)) for i in range(25)])
    sidecar = start_sidecar(store_url, workers=2)
    for _ in range(10):  # spread over both workers
        assert requests.get(f"{sidecar.url}/logs?limit=1", timeout=10).status_code == 200
    text = requests.get(f"{sidecar.url}/metrics", timeout=10).text
    found = families(text)

    http = found["flask_http_request"]
    logs_requests = sum(
        s.value
        for s in http
        if s.name == "flask_http_request_total"
        and s.labels.get("status") == "200"
        and s.labels.get("method") == "GET"
    )
    assert logs_requests >= 10
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(tables.predictions)).scalar()
    assert rows == len(records) == 25
    assert sum(s.value for s in found["iris_predictions"]) == rows
    count = [
        s.value
        for s in found["iris_prediction_duration_seconds"]
        if s.name == "iris_prediction_duration_seconds_count"
    ]
    assert count == [25.0]
    for name in (
        "iris_prediction_errors",
        "iris_feedback",
        "iris_retrain_jobs",
        "iris_prediction_log_dropped",
        "iris_live_accuracy",
        "iris_model_info",
    ):
        assert name in found, name
    engine.dispose()


def test_metrics_pass_promtool_check(sqlite_url, start_sidecar, tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (apt-get install prometheus)")
    engine = create_store_engine(sqlite_url)
    seed(engine, [prediction_record(i) for i in range(5)])
    sidecar = start_sidecar(sqlite_url)
    requests.get(f"{sidecar.url}/logs", timeout=10)
    requests.get(f"{sidecar.url}/nope", timeout=10)
    text = requests.get(f"{sidecar.url}/metrics", timeout=10).text
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr + text
    engine.dispose()
