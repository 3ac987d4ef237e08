"""Retrain jobs under real gunicorn: a real `mlflow run` of a tiny project, one at a time."""

from __future__ import annotations

import os
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from .conftest import auth, wait_for_job

pytestmark = pytest.mark.slow


def post_retrain(url: str, body: dict | None = None) -> requests.Response:
    return requests.post(f"{url}/retrain", json=body, headers=auth(), timeout=30)


def retrain_jobs_total(url: str) -> dict[str, float]:
    text = requests.get(f"{url}/metrics", timeout=10).text
    return {
        sample.labels["status"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "iris_retrain_jobs"
        for sample in family.samples
    }


def test_finished_job_reports_succeeded_with_the_summary_fields(store_url, start_sidecar):
    sidecar = start_sidecar(store_url)
    response = post_retrain(sidecar.url, {"candidates": "logistic_regression"})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["state"] in ("queued", "running")
    assert body["status_url"] == f"/retrain/{body['job_id']}"
    assert response.headers["Location"].endswith(body["status_url"])

    job = wait_for_job(sidecar.url, body["job_id"])
    assert job["state"] == "succeeded", job
    assert re.fullmatch(r"[0-9a-f]{32}", job["run_id"])
    assert job["model_version"] == "7"
    assert job["promoted"] is True
    assert job["reason"] == "tiny fixture (candidates=logistic_regression)"
    assert job["decision"] == "promoted"
    assert job["gate"]["paired"] == {"rows": 30, "champion_only": 0, "candidate_only": 0}
    assert job["params"] == {"candidates": "logistic_regression"}
    assert job["created_at"] <= job["started_at"] <= job["finished_at"]
    assert any("tiny training done" in line for line in job["output_tail"])
    assert retrain_jobs_total(sidecar.url) == {"succeeded": 1.0}
    # the slot is free again
    assert post_retrain(sidecar.url).status_code == 202


def test_second_retrain_is_409_with_the_running_job_id(store_url, start_sidecar, job_pids):
    sidecar = start_sidecar(store_url, env={"TINY_TRAIN_SECONDS": "8"})
    first = post_retrain(sidecar.url)
    assert first.status_code == 202, first.text
    job_pids.append(
        requests.get(f"{sidecar.url}/retrain/{first.json()['job_id']}", headers=auth()).json()[
            "pid"
        ]
    )
    second = post_retrain(sidecar.url)
    assert second.status_code == 409
    assert second.json()["error"] == "conflict"
    assert second.json()["job_id"] == first.json()["job_id"]
    assert wait_for_job(sidecar.url, first.json()["job_id"])["state"] == "succeeded"


def test_single_flight_holds_across_two_gunicorn_workers(store_url, start_sidecar, job_pids):
    sidecar = start_sidecar(store_url, workers=2, env={"TINY_TRAIN_SECONDS": "8"})
    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(lambda _: post_retrain(sidecar.url), range(12)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [202] + [409] * 11, [r.text for r in responses]
    (accepted,) = [r.json() for r in responses if r.status_code == 202]
    job_pids.append(
        requests.get(f"{sidecar.url}/retrain/{accepted['job_id']}", headers=auth()).json()["pid"]
    )
    assert {r.json()["job_id"] for r in responses if r.status_code == 409} == {accepted["job_id"]}
    assert wait_for_job(sidecar.url, accepted["job_id"])["state"] == "succeeded"


def test_job_whose_process_is_killed_is_reported_failed(store_url, start_sidecar, job_pids):
    sidecar = start_sidecar(store_url, env={"TINY_TRAIN_SECONDS": "60"})
    job_id = post_retrain(sidecar.url).json()["job_id"]
    job = wait_for_job(sidecar.url, job_id, states=("running",))
    job_pids.append(job["pid"])
    time.sleep(1.0)
    os.killpg(job["pid"], signal.SIGKILL)
    job = wait_for_job(sidecar.url, job_id)
    assert job["state"] == "failed"
    assert job["reason"] == "mlflow run was killed by SIGKILL"
    assert job["finished_at"] is not None
    assert retrain_jobs_total(sidecar.url) == {"failed": 1.0}


def test_training_that_exits_nonzero_is_reported_failed(store_url, start_sidecar):
    sidecar = start_sidecar(store_url, env={"TINY_TRAIN_EXIT_CODE": "3"})
    job = wait_for_job(sidecar.url, post_retrain(sidecar.url).json()["job_id"])
    assert job["state"] == "failed"
    assert job["reason"].startswith("mlflow run exited with code")
    assert any("fails on purpose" in line for line in job["output_tail"])


def test_job_left_running_by_a_stopped_sidecar_is_marked_failed(store_url, start_sidecar, job_pids):
    first = start_sidecar(store_url, env={"TINY_TRAIN_SECONDS": "60"})
    job_id = post_retrain(first.url).json()["job_id"]
    pid = wait_for_job(first.url, job_id, states=("running",))["pid"]
    job_pids.append(pid)
    first.stop()
    os.killpg(pid, signal.SIGKILL)

    second = start_sidecar(store_url)
    job = requests.get(f"{second.url}/retrain/{job_id}", headers=auth(), timeout=10).json()
    assert job["state"] == "failed"
    assert job["reason"] == "sidecar stopped while the job ran"
    assert post_retrain(second.url).status_code == 202


def test_job_that_finished_while_the_sidecar_was_down_reports_its_summary(
    store_url, start_sidecar, job_pids
):
    first = start_sidecar(store_url, env={"TINY_TRAIN_SECONDS": "2"})
    job_id = post_retrain(first.url).json()["job_id"]
    pid = wait_for_job(first.url, job_id, states=("running",))["pid"]
    job_pids.append(pid)
    first.stop(sig=signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)

    second = start_sidecar(store_url)
    job = requests.get(f"{second.url}/retrain/{job_id}", headers=auth(), timeout=10).json()
    assert job["state"] == "succeeded", job
    assert job["model_version"] == "7"
