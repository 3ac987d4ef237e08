"""The serving supervisor with real processes: live promotion, refusal, crash and stop.

One registry (v1, v2 trained; v3 a registered copy of v1 whose estimator file is broken)
is shared by the module; each test starts its own supervisor (``python -m serving``) on a
free port with its own log store, and drives it with concurrent keep-alive clients.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
import warnings
from pathlib import Path

import mlflow
import pytest
import requests
import sqlalchemy as sa
from mlflow import MlflowClient

from mlproject.config import FEATURES
from mlproject.logstore import create_store_engine, read_counters, tables
from serving.settings import SERVING_ENV_VARS
from tests.support.processes import (
    REPO_ROOT,
    VENV_BIN,
    Server,
    base_env,
    free_port,
    start_process,
    wait_for_http,
)
from tests.support.stack import sqlite_tracking_uri, train

pytestmark = pytest.mark.slow

MODEL = "iris-classifier"
ROW = [6.1, 2.8, 4.7, 1.2]
SWITCH_DEADLINE = 10.0
CLIENT_NICENESS = 10


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """v1 and v2 trained for real, v3 registered with a corrupted estimator.joblib."""
    workdir = tmp_path_factory.mktemp("serving-registry")
    tracking_uri = sqlite_tracking_uri(workdir)
    train(tracking_uri, workdir, "--candidates", "logistic_regression")
    train(tracking_uri, workdir, "--candidates", "logistic_regression")
    broken = _register_broken_copy(tracking_uri, workdir, source_version="1")
    return {"tracking_uri": tracking_uri, "workdir": workdir, "broken": broken}


def _register_broken_copy(tracking_uri: str, workdir: Path, source_version: str) -> str:
    mlflow.set_tracking_uri(tracking_uri)
    try:
        model = Path(
            mlflow.artifacts.download_artifacts(
                f"models:/{MODEL}/{source_version}", dst_path=str(workdir / "broken-src")
            )
        )
        copy = workdir / "broken-model"
        shutil.copytree(model, copy)
        (copy / "artifacts" / "estimator.joblib").write_bytes(b"this is not a joblib pickle")
        with mlflow.start_run(run_name="broken-copy") as run:
            mlflow.log_artifacts(str(copy), "model")
        return str(mlflow.register_model(f"runs:/{run.info.run_id}/model", MODEL).version)
    finally:
        mlflow.set_tracking_uri(None)


def _client(registry) -> MlflowClient:
    return MlflowClient(registry["tracking_uri"])


def _set_alias(registry, version: str) -> None:
    _client(registry).set_registered_model_alias(MODEL, "champion", version)


def _set_stage(registry, version: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        _client(registry).transition_model_version_stage(
            MODEL, version, "Production", archive_existing_versions=True
        )


class Supervisor(Server):
    store_url: str
    run_dir: Path

    def state(self) -> dict:
        return json.loads((self.run_dir / "state.json").read_text())

    def switches(self) -> list[dict]:
        engine = create_store_engine(self.store_url)
        try:
            with engine.connect() as conn:
                query = sa.select(tables.model_switches).order_by(tables.model_switches.c.seq)
                return [dict(row._mapping) for row in conn.execute(query)]
        finally:
            engine.dispose()


def _state_pid(server) -> int | None:
    try:
        return server.state().get("pid")
    except (OSError, ValueError):
        return None


@pytest.fixture
def start_supervisor(registry, tmp_path):
    """Start ``python -m serving`` on a free port and wait until it serves; stop it after."""
    started: list[Supervisor] = []

    def _start(*args: str) -> Supervisor:
        port = free_port()
        env = base_env(
            {
                "MLFLOW_TRACKING_URI": registry["tracking_uri"],
                "IRIS_LOG_STORE_URL": f"sqlite:///{tmp_path / 'predictions.db'}",
                # An editable install made before serving/ existed does not map it.
                "PYTHONPATH": str(REPO_ROOT),
            }
        )
        for name in SERVING_ENV_VARS:
            env.pop(name, None)
        log_path = tmp_path / "supervisor.log"
        process = start_process(
            [str(VENV_BIN / "python"), "-m", "serving", "--port", str(port)]
            + ["--run-dir", str(tmp_path / "run"), "--poll-seconds", "0.5", *args],
            log_path=log_path,
            env=env,
            cwd=tmp_path,
        )
        server = Supervisor(process=process, port=port, log_path=log_path)
        server.store_url = env["IRIS_LOG_STORE_URL"]
        server.run_dir = tmp_path / "run"
        started.append(server)
        wait_for_http(f"{server.url}/ping", timeout=90, process=process, log_path=log_path)
        # Traffic moves a moment before state.json names the process: wait for both.
        deadline = time.monotonic() + 10
        while not _state_pid(server) and time.monotonic() < deadline:
            time.sleep(0.05)
        return server

    yield _start
    for server in started:
        server.stop()


class Load:
    """Client threads posting one row each through keep-alive sessions until stopped."""

    def __init__(self, url: str, threads: int = 4, max_seconds: float = 60.0) -> None:
        self.url = f"{url}/invocations"
        self.results: list[tuple[float, object, dict | None]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self._threads = [threading.Thread(target=self._client) for _ in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _client(self) -> None:
        # Clients would live on other machines: on this shared box, the load generator
        # yields the CPU to the system under test (Linux nice values are per thread).
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CLIENT_NICENESS)
        body = {"dataframe_split": {"columns": list(FEATURES), "data": [ROW]}}
        with requests.Session() as session:
            while not self._stop.is_set() and time.monotonic() < self._deadline:
                try:
                    response = session.post(self.url, json=body, timeout=60)
                    outcome: object = response.status_code
                    record = response.json()["predictions"][0] if outcome == 200 else None
                except requests.RequestException as exc:
                    outcome, record = f"{type(exc).__name__}: {exc}", None
                with self._lock:
                    self.results.append((time.monotonic(), outcome, record))

    def failures(self) -> list[object]:
        with self._lock:
            return [outcome for _, outcome, _ in self.results if outcome != 200]

    def succeeded(self) -> list[dict]:
        with self._lock:
            return [record for _, outcome, record in self.results if outcome == 200]

    def wait_for_version(self, version: str, since: float, timeout: float) -> float:
        """Seconds from ``since`` until an answer from ``version`` arrived; fail after timeout."""
        deadline, seen = since + timeout, 0
        while time.monotonic() < deadline:
            with self._lock:
                fresh, seen = self.results[seen:], len(self.results)
            for at, outcome, record in fresh:
                if at >= since and outcome == 200 and record["model_version"] == version:
                    return at - since
            time.sleep(0.1)
        raise AssertionError(f"no answer from version {version} within {timeout}s")

    def wait_for_count(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.results) < count and time.monotonic() < deadline:
            time.sleep(0.05)


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_moving_the_alias_and_back_switches_live_with_no_failed_request(registry, start_supervisor):
    _set_alias(registry, "1")
    supervisor = start_supervisor()
    with Load(supervisor.url) as load:
        load.wait_for_count(20)
        moved = time.monotonic()
        _set_alias(registry, "2")
        to_v2 = load.wait_for_version("2", moved, SWITCH_DEADLINE)
        _wait_for_one_scoring_process(supervisor)
        moved = time.monotonic()
        _set_alias(registry, "1")
        back_to_v1 = load.wait_for_version("1", moved, SWITCH_DEADLINE)
        load.wait_for_count(len(load.results) + 20)
    assert load.failures() == []
    assert len(load.succeeded()) > 100
    outcomes = [
        (row["from_version"], row["to_version"], row["outcome"]) for row in supervisor.switches()
    ]
    assert outcomes == [(None, "1", "switched"), ("1", "2", "switched"), ("2", "1", "switched")]
    print(f"alias v1->v2 seen after {to_v2:.1f}s, v2->v1 after {back_to_v1:.1f}s")


def test_following_the_production_stage_switches_live_with_no_failed_request(
    registry, start_supervisor
):
    _set_stage(registry, "1")
    supervisor = start_supervisor("--follow", "stage:Production")
    with Load(supervisor.url) as load:
        load.wait_for_count(20)
        moved = time.monotonic()
        _set_stage(registry, "2")
        load.wait_for_version("2", moved, SWITCH_DEADLINE)
        _wait_for_one_scoring_process(supervisor)
        moved = time.monotonic()
        _set_stage(registry, "1")
        load.wait_for_version("1", moved, SWITCH_DEADLINE)
    assert load.failures() == []
    assert supervisor.state()["follow"] == "stage:Production"
    assert [row["to_version"] for row in supervisor.switches()] == ["1", "2", "1"]


def test_a_broken_promotion_is_refused_once_and_the_old_version_keeps_serving(
    registry, start_supervisor
):
    _set_alias(registry, "1")
    supervisor = start_supervisor()
    broken = registry["broken"]
    with Load(supervisor.url) as load:
        _set_alias(registry, broken)
        refused = _wait_for(
            lambda: [row for row in supervisor.switches() if row["outcome"] == "refused"],
            60,
            "a refused row",
        )
        time.sleep(3)  # several polls: the same broken version is not tried again
    _set_alias(registry, "1")
    assert load.failures() == []
    assert {record["model_version"] for record in load.succeeded()} == {"1"}
    assert len(refused) == 1
    assert (refused[0]["from_version"], refused[0]["to_version"]) == ("1", broken)
    assert "exited" in refused[0]["reason"]
    assert [row["outcome"] for row in supervisor.switches()] == ["switched", "refused"]
    engine = create_store_engine(supervisor.store_url)
    with engine.connect() as conn:
        counters = {metric: value for metric, _, value in read_counters(conn)}
    engine.dispose()
    assert counters["iris_promotion_refused_total"] == 1
    state = supervisor.state()
    assert state["version"] == "1"
    assert state["last_refusal"]["version"] == broken


def test_a_killed_scoring_process_is_restarted_and_recorded(registry, start_supervisor):
    _set_alias(registry, "1")
    supervisor = start_supervisor()
    killed = supervisor.state()["pid"]
    with Load(supervisor.url) as load:
        load.wait_for_count(20)
        os.kill(killed, signal.SIGKILL)
        after_kill = time.monotonic()
        _wait_for(lambda: supervisor.state()["pid"] not in (None, killed), 60, "a new pid")
        restarted = time.monotonic()
        load.wait_for_count(len(load.results) + 20)
    late = [outcome for at, outcome, _ in load.results if at > restarted]
    assert late and all(outcome == 200 for outcome in late)
    assert load.failures() == []
    rows = supervisor.switches()
    assert rows[-1]["outcome"] == "restarted"
    assert (rows[-1]["from_version"], rows[-1]["to_version"]) == ("1", "1")
    assert f"pid {killed}" in rows[-1]["reason"] and "code -9" in rows[-1]["reason"]
    print(f"restart took {restarted - after_kill:.1f}s")


def test_sigterm_under_load_loses_no_answered_prediction_and_leaves_no_process(
    registry, start_supervisor
):
    _set_alias(registry, "1")
    supervisor = start_supervisor()
    scoring_pid = supervisor.state()["pid"]
    children = _children(supervisor.process.pid)
    assert scoring_pid in children
    with Load(supervisor.url) as load:
        load.wait_for_count(50)
        started = time.monotonic()
        supervisor.process.send_signal(signal.SIGTERM)
        code = supervisor.process.wait(timeout=15)
        stopped_in = time.monotonic() - started
    assert code == 0
    assert stopped_in < 10
    answered = {record["prediction_id"] for record in load.succeeded()}
    assert len(answered) >= 50
    engine = create_store_engine(supervisor.store_url)
    with engine.connect() as conn:
        column = tables.predictions.c.prediction_id
        stored = set(conn.execute(sa.select(column).where(column.in_(answered))).scalars())
    engine.dispose()
    assert answered - stored == set()
    for pid in children | {supervisor.process.pid}:
        assert not _alive(pid), f"pid {pid} survived the supervisor"
    with pytest.raises(ProcessLookupError):
        os.killpg(supervisor.process.pid, 0)


def _wait_for_one_scoring_process(supervisor: Supervisor) -> None:
    # The previous version has drained and stopped: promotions are not seconds apart.
    _wait_for(lambda: len(_children(supervisor.process.pid)) == 1, 30, "the old version to stop")


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "children").read_text().split()
        except FileNotFoundError:
            continue  # that thread ended while we looked (the proxy's handlers come and go)
        found.update(int(child) for child in text)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"
