"""The serving edge for tests: real HAProxy, real scoring processes, raw sockets to talk to them."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from mlproject.config import FEATURES
from mlproject.logstore import create_store_engine, tables
from serving.edge import Edge
from serving.edge_config import haproxy_environment, write_files
from serving.edge_files import edge_files
from serving.haproxy import HAProxyMissing, HAProxyProcess, find_haproxy, start_haproxy
from serving.scoring import ScoringProcess, start_scoring_process
from serving.settings import EdgeSettings
from tests.support.processes import REPO_ROOT, base_env, free_port

ROW = [6.1, 2.8, 4.7, 1.2]
SPLIT_BODY = {"dataframe_split": {"columns": list(FEATURES), "data": [ROW]}}


def require_haproxy() -> str:
    """The haproxy binary; skip without it, or fail when CI is set (CI must install it)."""
    try:
        return find_haproxy()
    except HAProxyMissing as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc}; CI is set, so a missing tool is a failure, not a skip")
        pytest.skip(str(exc))


def save_model(path: Path) -> Path:
    """A logistic-regression pyfunc saved with the project's packaging code, logging off."""
    from mlproject.candidates import CANDIDATES
    from mlproject.data import load_dataset, split_dataset
    from mlproject.packaging import save_model as save

    split = split_dataset(load_dataset(REPO_ROOT / "data" / "iris.csv"), 0.2, 42)
    estimator = CANDIDATES["logistic_regression"].build(42).fit(split.x_train, split.y_train)
    previous = os.environ.get("IRIS_PREDICTION_LOGGING")
    os.environ["IRIS_PREDICTION_LOGGING"] = "false"  # saving predicts on the input example
    try:
        save(path, estimator, split, "iris-classifier", "test-digest")
    finally:
        if previous is None:
            os.environ.pop("IRIS_PREDICTION_LOGGING", None)
        else:
            os.environ["IRIS_PREDICTION_LOGGING"] = previous
    return path


def start_scoring(
    model_path: Path, version: str, store_url: str, log_dir: Path, **kwargs
) -> ScoringProcess:
    """A scoring process (``serving.asgi`` under uvicorn) for ``model_path``, once /ping is OK."""
    env = {"IRIS_LOG_STORE_URL": store_url, "PYTHONPATH": str(REPO_ROOT)}
    process = start_scoring_process(
        model_path, version, log_dir=log_dir, extra_env={**env, **kwargs.pop("env", {})}, **kwargs
    )
    try:
        process.wait_ready(120, threading.Event())
    except Exception:
        process.stop(5)
        raise
    return process


@dataclass
class EdgeStack:
    """A running HAProxy with its Edge (slots) and settings."""

    haproxy: HAProxyProcess
    edge: Edge
    settings: EdgeSettings
    run_dir: Path
    processes: list[ScoringProcess] = field(default_factory=list)
    store_url: str = ""

    @property
    def port(self) -> int:
        return self.settings.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.metrics_port}"

    def serve(self, *processes: ScoringProcess, colour: str = "blue") -> None:
        """Put ``processes`` in ``colour``'s slots and give them the traffic."""
        for slot, process in zip(self.edge.groups[colour], processes, strict=False):
            self.edge.assign(slot, process.port, process.version)
        self.edge.promote(colour, len(processes))

    def access_log(self) -> list[dict]:
        import json

        path = self.haproxy.files.access_log
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        for process in self.processes:
            process.stop(5)
        self.haproxy.stop(2)


def start_edge(
    run_dir: Path,
    *,
    slots: int = 1,
    server_timeout: float = 70,
    retries: int = 30,
    env: dict[str, str] | None = None,
    **overrides,
) -> EdgeStack:
    """HAProxy on free ports with ``overrides`` on the default EdgeSettings."""
    binary = require_haproxy()
    settings = EdgeSettings(port=free_port(), metrics_port=free_port(), **overrides)
    files = edge_files(run_dir)
    write_files(settings, files, slots, server_timeout=server_timeout, retries=retries)
    haproxy_env = haproxy_environment(settings, base_env(env))
    haproxy = start_haproxy(binary, files, run_dir / "logs", haproxy_env)
    return EdgeStack(haproxy, Edge(haproxy.api, files, slots), settings, run_dir)


def count_predictions(store_url: str) -> int:
    engine = create_store_engine(store_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(tables.predictions)).scalar()
    finally:
        engine.dispose()


def settled_count(url: str, store_url: str, marker: str) -> int:
    """The prediction count once a fresh request (``marker``) is stored: earlier ones are too.

    The pyfunc's writer commits in the background, in order; counting right away could
    miss rows still on their way.
    """
    assert predict(url, marker).status_code == 200
    assert wait_for_request_id(store_url, marker), f"{marker} never reached the log"
    return count_predictions(store_url)


def wait_for_request_id(store_url: str, request_id: str, timeout: float = 30.0) -> list[dict]:
    """The logged predictions carrying ``request_id`` (waits for the writer to commit)."""
    engine = create_store_engine(store_url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            with engine.connect() as conn:
                rows = [
                    dict(row._mapping)
                    for row in conn.execute(
                        sa.select(tables.predictions).where(
                            tables.predictions.c.request_id == request_id
                        )
                    )
                ]
            if rows or time.monotonic() > deadline:
                return rows
            time.sleep(0.1)
    finally:
        engine.dispose()


def predict(url: str, request_id: str | None = None, **kwargs) -> requests.Response:
    headers = {"X-Request-ID": request_id} if request_id else {}
    headers.update(kwargs.pop("headers", {}))
    return requests.post(
        f"{url}/invocations", json=SPLIT_BODY, headers=headers, timeout=30, **kwargs
    )
