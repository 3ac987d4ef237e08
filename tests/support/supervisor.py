"""The serving supervisor (``python -m serving``) for tests: start it, read its state, stop it."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import joblib
import mlflow
import sqlalchemy as sa

from mlproject.logstore import create_store_engine, tables
from serving.settings import SERVING_ENV_VARS
from tests.support import processes
from tests.support.processes import (
    REPO_ROOT,
    VENV_BIN,
    Server,
    base_env,
    free_port,
    start_process,
    wait_for_http,
)

MODEL = "iris-classifier"


class Supervisor(Server):
    """A running supervisor, its log store and its run dir."""

    store_url: str
    run_dir: Path
    metrics_port: int

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

    def children(self) -> set[int]:
        return children(self.process.pid)

    def scoring_children(self) -> set[int]:
        """The children that are scoring processes (not HAProxy, not the companions)."""
        return {pid for pid in self.children() if "serving.asgi" in cmdline(pid)}


def read_state(server: Supervisor, key: str):
    """``key`` of the supervisor's state.json, or None while it cannot be read."""
    try:
        return server.state().get(key)
    except (OSError, ValueError):
        return None


def start_supervisor(
    tracking_uri: str,
    workdir: Path,
    index: int,
    *args: str,
    poll: float,
    env: dict | None = None,
) -> Supervisor:
    """``python -m serving`` on free ports in ``workdir``; returns once it serves."""
    port = free_port()
    metrics_port = free_port()
    environment = base_env(
        {
            "MLFLOW_TRACKING_URI": tracking_uri,
            "IRIS_LOG_STORE_URL": f"sqlite:///{workdir / 'predictions.db'}",
            "PYTHONPATH": str(REPO_ROOT),
        }
    )
    for name in SERVING_ENV_VARS:
        environment.pop(name, None)
    # The default is one process per usable core (auto); tests that are not about the
    # layout run one, so dozens of supervisors start as fast as before. ``env`` may
    # ask for more (tests/e2e/test_serving_processes.py does).
    environment["SCORING_PROCESSES"] = "1"
    environment.update(env or {})
    run_dir = workdir / f"run-{index}"
    log_path = workdir / f"supervisor-{index}.log"
    process = start_process(
        [str(VENV_BIN / "python"), "-m", "serving", "--port", str(port)]
        + ["--metrics-port", str(metrics_port), "--run-dir", str(run_dir)]
        + ["--poll-seconds", str(poll), *args],
        log_path=log_path,
        env=environment,
        cwd=workdir,
    )
    server = Supervisor(process=process, port=port, log_path=log_path)
    server.store_url = environment["IRIS_LOG_STORE_URL"]
    server.run_dir = run_dir
    server.metrics_port = metrics_port
    try:
        wait_for_http(f"{server.url}/ping", timeout=180, process=process, log_path=log_path)
        wait_for(lambda: read_state(server, "pid"), 10, "state.json to name the process")
    except BaseException:
        server.stop()
        raise
    return server


def wait_for(predicate, timeout: float, what: str):
    """The first truthy value of ``predicate()``, polled every 0.1 s; fail after ``timeout``."""
    return processes.wait_for(predicate, what, timeout, interval=0.1)


def register_fitted(tracking_uri: str, workdir: Path) -> str:
    """A new version of MODEL: a pipeline fitted in-process and saved as the project's pyfunc.

    Seconds instead of a training run, for tests that need registered versions, not a
    search; the supervisor tells the served version its number (IRIS_MODEL_VERSION).
    """
    from tests.support.edge import save_model

    folder = save_model(workdir / f"fitted-{time.monotonic_ns()}")
    mlflow.set_tracking_uri(tracking_uri)
    try:
        with mlflow.start_run(run_name="fitted") as run:
            mlflow.log_artifacts(str(folder), "model")
        return str(mlflow.register_model(f"runs:/{run.info.run_id}/model", MODEL).version)
    finally:
        mlflow.set_tracking_uri(None)


def register_copy(
    tracking_uri: str,
    workdir: Path,
    source_version: str,
    *,
    broken: bool = False,
    estimator=None,
) -> str:
    """A new version of MODEL with ``source_version``'s files (its estimator broken if asked,
    or replaced by ``estimator``, a fitted scikit-learn classifier).

    Registering a copy is much faster than training, and gives a second version number
    whose answers are told apart by ``model_version``.
    """
    mlflow.set_tracking_uri(tracking_uri)
    try:
        model = Path(
            mlflow.artifacts.download_artifacts(
                f"models:/{MODEL}/{source_version}",
                dst_path=str(workdir / f"copy-src-{source_version}-{time.monotonic_ns()}"),
            )
        )
        copy = workdir / f"copy-{time.monotonic_ns()}"
        shutil.copytree(model, copy)
        if broken:
            (copy / "artifacts" / "estimator.joblib").write_bytes(b"this is not a joblib pickle")
        elif estimator is not None:
            joblib.dump(estimator, copy / "artifacts" / "estimator.joblib")
        run_name = "broken-copy" if broken else "copy" if estimator is None else "refitted-copy"
        with mlflow.start_run(run_name=run_name) as run:
            mlflow.log_artifacts(str(copy), "model")
        return str(mlflow.register_model(f"runs:/{run.info.run_id}/model", MODEL).version)
    finally:
        mlflow.set_tracking_uri(None)


def children(pid: int) -> set[int]:
    """The pids of ``pid``'s child processes."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "children").read_text().split()
        except FileNotFoundError:
            continue  # that thread ended while we looked
        found.update(int(child) for child in text)
    return found


def cmdline(pid: int) -> str:
    """``pid``'s command line, space-separated ("" once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"
