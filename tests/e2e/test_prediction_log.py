"""Every prediction served is logged once: under load, across databases, SIGTERM, kill -9.

The scoring process only spools; the shipper it starts (a bare ``mlflow models serve``
has no supervisor) loads the spool into the store. Tests wait for the spool to drain.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from mlproject.config import FEATURES
from mlproject.logstore import create_store_engine, layout, read_counters, tables
from mlproject.logstore.drain import wait_drained
from tests.support.stack import start_scoring, start_sidecar

pytestmark = pytest.mark.slow
ROW = [5.9, 3.0, 5.1, 1.8]
BODY = {"dataframe_split": {"columns": list(FEATURES), "data": [ROW]}}


def serve(trained_registry, store_url, workdir: Path):
    """A scoring server spooling below ``workdir``; (server, its spool folder)."""
    spool_root = workdir / "spool"
    server = start_scoring(
        trained_registry["tracking_uri"],
        store_url,
        workdir,
        extra_env={"IRIS_SPOOL_DIR": str(spool_root)},
    )
    return server, layout.spool_folder(spool_root, store_url)


def drain(store_url: str, folder: Path, timeout: float = 120.0, tidy: bool = False) -> None:
    """Wait for the shipper to load everything spooled so far (and, with ``tidy``, to
    remove the finished segments of writers that are gone), then stop it."""
    engine = create_store_engine(store_url)
    try:
        assert wait_drained(folder, engine, timeout), "the shipper did not drain the spool"
        deadline = time.monotonic() + 30
        while tidy and any((folder / layout.SEGMENTS).iterdir()):
            assert time.monotonic() < deadline, "finished segments were not removed"
            time.sleep(0.1)
    finally:
        engine.dispose()
        stop_shipper(folder)


def stop_shipper(folder: Path) -> None:
    """SIGTERM the shipper a model process started (its pid is in the lock file)."""
    try:
        pid = int((folder / layout.LOCK_FILE).read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return
    deadline = time.monotonic() + 20
    while layout.shipper_running(folder) and time.monotonic() < deadline:
        time.sleep(0.1)


def stored_ids(store_url: str) -> list[str]:
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(tables.predictions.c.prediction_id)).scalars())
    finally:
        engine.dispose()


def client_loop(url: str, requests_each: int) -> list[str]:
    received = []
    with requests.Session() as session:
        for _ in range(requests_each):
            response = session.post(f"{url}/invocations", json=BODY, timeout=30)
            assert response.status_code == 200, response.text
            received.append(response.json()["predictions"][0]["prediction_id"])
    return received


def test_8_clients_by_500_requests_give_exactly_4000_rows(trained_registry, store_url, tmp_path):
    server, folder = serve(trained_registry, store_url, tmp_path)
    try:
        with ThreadPoolExecutor(8) as pool:
            batches = list(pool.map(lambda _: client_loop(server.url, 500), range(8)))
    finally:
        server.stop()
        drain(store_url, folder)
    received = [pid for batch in batches for pid in batch]
    assert len(received) == len(set(received)) == 4000
    ids = stored_ids(store_url)
    assert len(ids) == 4000, "rows lost or duplicated"
    assert set(ids) == set(received)
    engine = sa.create_engine(store_url)
    with engine.connect() as conn:
        totals = {m: v for m, labels, v in read_counters(conn) if m == "iris_predictions_total"}
    engine.dispose()
    assert totals == {"iris_predictions_total": 4000}


def test_predictions_made_through_invocations_appear_in_the_sidecars_logs(
    trained_registry, sqlite_url, tmp_path
):
    scoring, folder = serve(trained_registry, sqlite_url, tmp_path)
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
        stop_shipper(folder)


def load_until_stopped(url: str, clients: int):
    """Start ``clients`` threads posting until told to stop; (ids answered 200, stop, threads)."""
    received: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load():
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    response = session.post(f"{url}/invocations", json=BODY, timeout=10)
                except requests.RequestException:
                    return  # the server is going away: what matters is what was answered
                if response.status_code == 200:
                    with lock:
                        received.append(response.json()["predictions"][0]["prediction_id"])

    threads = [threading.Thread(target=load) for _ in range(clients)]
    for thread in threads:
        thread.start()
    return received, stop, threads


def test_sigterm_to_the_scoring_server_under_load_loses_no_received_prediction(
    trained_registry, store_url, tmp_path
):
    server, folder = serve(trained_registry, store_url, tmp_path)
    received, stop, threads = load_until_stopped(server.url, 4)
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
    drain(store_url, folder)
    assert len(received) > 50
    stored = stored_ids(store_url)
    missing = set(received) - set(stored)
    assert not missing, f"{len(missing)} of {len(received)} answered predictions not logged"
    assert len(stored) == len(set(stored))


def test_kill_9_of_the_scoring_server_under_load_loses_no_answered_prediction(
    trained_registry, store_url, tmp_path
):
    server, folder = serve(trained_registry, store_url, tmp_path)
    received, stop, threads = load_until_stopped(server.url, 4)
    time.sleep(3)
    server.stop(sig=signal.SIGKILL)  # every process of the server at once, no clean-up
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    drain(store_url, folder, tidy=True)
    assert len(received) > 50
    stored = Counter(stored_ids(store_url))
    missing = set(received) - set(stored)
    assert not missing, f"{len(missing)} of {len(received)} answered predictions not logged"
    assert max(stored.values()) == 1, "a prediction was stored twice"
