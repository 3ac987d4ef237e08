"""POST /retrain on a real sidecar runs the real training project into a real registry."""

from __future__ import annotations

import signal
import time

import pytest
import requests
from mlflow import MlflowClient

from tests.support.processes import kill_group
from tests.support.stack import sqlite_tracking_uri, start_sidecar

pytestmark = pytest.mark.slow

TOKEN = "e2e-token-789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def sidecar(tmp_path):
    """scripts/run-sidecar.sh over the real project, a SQLite registry and log store."""
    tracking_uri = sqlite_tracking_uri(tmp_path)
    server = start_sidecar(
        f"sqlite:///{tmp_path / 'predictions.db'}",
        tmp_path,
        tracking_uri=tracking_uri,
        token=TOKEN,
    )
    server.tracking_uri = tracking_uri
    server.pids = []
    try:
        yield server
    finally:
        server.stop()
        for pid in server.pids:
            kill_group(pid, signal.SIGKILL)


def wait_for_job(url: str, job_id: str, timeout: float = 900.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = requests.get(f"{url}/retrain/{job_id}", headers=AUTH, timeout=10).json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(1.0)
    raise AssertionError(f"job {job_id} did not finish in {timeout}s: {job}")


def test_retrain_registers_a_new_model_version_and_reports_it(sidecar):
    response = requests.post(
        f"{sidecar.url}/retrain",
        json={"candidates": "logistic_regression", "cv_folds": 2},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    job_report = requests.get(f"{sidecar.url}/retrain/{job_id}", headers=AUTH, timeout=10)
    sidecar.pids.append(job_report.json()["pid"])

    job = wait_for_job(sidecar.url, job_id)
    assert job["state"] == "succeeded", "\n".join(job["output_tail"])
    assert job["model_version"] == "1"
    assert job["promoted"] is True
    assert job["reason"]

    client = MlflowClient(sidecar.tracking_uri)
    version = client.get_model_version("iris-classifier", job["model_version"])
    assert version.run_id == job["run_id"]
    champion = client.get_model_version_by_alias("iris-classifier", "champion")
    assert str(champion.version) == job["model_version"]

    # with no predictions logged yet, /health takes the model in service from the registry
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        model = requests.get(f"{sidecar.url}/health", timeout=30).json()["model"]
        if model["version"] == job["model_version"]:
            break
        time.sleep(1.0)
    assert model == {
        "name": "iris-classifier",
        "version": job["model_version"],
        "run_id": job["run_id"],
        "source": "registry",
    }
