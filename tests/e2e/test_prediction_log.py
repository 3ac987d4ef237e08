"""Every prediction served is logged once: under load, across databases, through SIGTERM."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from mlproject.config import FEATURES
from mlproject.logstore import tables
from tests.support.stack import start_scoring, start_sidecar

pytestmark = pytest.mark.slow
ROW = [5.9, 3.0, 5.1, 1.8]
BODY = {"dataframe_split": {"columns": list(FEATURES), "data": [ROW]}}


def stored_ids(store_url: str) -> list[str]:
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(tables.predictions.c.prediction_id)).scalars())
    finally:
        engine.dispose()


def wait_for_count(store_url: str, expected: int, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    ids = stored_ids(store_url)
    while len(ids) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
        ids = stored_ids(store_url)
    return ids


def client_loop(url: str, requests_each: int) -> list[str]:
    received = []
    with requests.Session() as session:
        for _ in range(requests_each):
            response = session.post(f"{url}/invocations", json=BODY, timeout=30)
            assert response.status_code == 200, response.text
            received.append(response.json()["predictions"][0]["prediction_id"])
    return received


def test_8_clients_by_500_requests_give_exactly_4000_rows(trained_registry, store_url, tmp_path):
    server = start_scoring(trained_registry["tracking_uri"], store_url, tmp_path)
    try:
        with ThreadPoolExecutor(8) as pool:
            batches = list(pool.map(lambda _: client_loop(server.url, 500), range(8)))
    finally:
        server.stop()
    received = [pid for batch in batches for pid in batch]
    assert len(received) == len(set(received)) == 4000
    ids = wait_for_count(store_url, 4000)
    assert len(ids) == 4000, "rows lost or duplicated"
    assert set(ids) == set(received)


def test_predictions_made_through_invocations_appear_in_the_sidecars_logs(
    trained_registry, sqlite_url, tmp_path
):
    scoring = start_scoring(trained_registry["tracking_uri"], sqlite_url, tmp_path)
    sidecar = start_sidecar(
        sqlite_url, tmp_path, tracking_uri=trained_registry["tracking_uri"], scoring_url=scoring.url
    )
    try:
        body = {**BODY, "params": {"request_id": "curl-1"}}
        prediction = requests.post(f"{scoring.url}/invocations", json=body, timeout=30).json()
        prediction_id = prediction["predictions"][0]["prediction_id"]
        deadline = time.monotonic() + 1.0  # the README promises "within a second"
        items = []
        while time.monotonic() < deadline:
            items = requests.get(f"{sidecar.url}/logs", timeout=5).json()["items"]
            if items:
                break
            time.sleep(0.05)
        assert [item["prediction_id"] for item in items] == [prediction_id]
        assert items[0]["request_id"] == "curl-1"
        assert items[0]["model_version"] == "1"
        health = requests.get(f"{sidecar.url}/health", timeout=10).json()
        assert health["scoring"]["reachable"] is True
        assert health["model"]["version"] == "1"
    finally:
        sidecar.stop()
        scoring.stop()


def test_sigterm_to_the_scoring_server_under_load_loses_no_received_prediction(
    trained_registry, store_url, tmp_path
):
    server = start_scoring(trained_registry["tracking_uri"], store_url, tmp_path)
    received: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load():
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    response = session.post(f"{server.url}/invocations", json=BODY, timeout=10)
                except requests.RequestException:
                    return  # the server is going away: what matters is what was answered
                if response.status_code == 200:
                    with lock:
                        received.append(response.json()["predictions"][0]["prediction_id"])

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    # SIGTERM to the `mlflow models serve` process only, as a service manager would send it;
    # its uvicorn child follows (parent-death signal) and shuts down gracefully.
    os.kill(server.process.pid, signal.SIGTERM)
    server.process.wait(timeout=30)
    time.sleep(2)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    server.stop()
    assert len(received) > 50
    stored = set(stored_ids(store_url))
    missing = set(received) - stored
    assert not missing, f"{len(missing)} of {len(received)} answered predictions not logged"
