"""Build the real system piece by piece for tests: a trained registry, a scoring server."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mlflow import MlflowClient

from mlproject.config import ENV_VARS
from mlproject.logstore import contract
from sidecar.config import SIDECAR_ENV_VARS
from tests.support.processes import (
    REPO_ROOT,
    VENV_BIN,
    Server,
    base_env,
    free_port,
    start_process,
    wait_for_http,
)


def sqlite_tracking_uri(folder: Path) -> str:
    """A tracking + registry store in ``folder`` (artifacts land beside it)."""
    return f"sqlite:///{folder / 'mlflow.db'}"


def train(
    tracking_uri: str,
    workdir: Path,
    *extra_args: str,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess:
    """Run ``python -m mlproject.train`` against ``tracking_uri``; raise on failure."""
    workdir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            str(VENV_BIN / "python"),
            "-m",
            "mlproject.train",
            "--data-path",
            str(REPO_ROOT / "data" / "iris.csv"),
            *extra_args,
        ],
        cwd=workdir,
        env=base_env({"MLFLOW_TRACKING_URI": tracking_uri, **(env or {})}),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise AssertionError(f"training failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


def start_scoring(
    tracking_uri: str,
    store_url: str,
    workdir: Path,
    *,
    model_uri: str = "models:/iris-classifier@champion",
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
    timeout: float = 180,
) -> Server:
    """Start ``mlflow models serve`` for ``model_uri`` on a free port; wait for /ping."""
    port = free_port()
    log_path = workdir / f"scoring-{port}.log"
    env = base_env(
        {"MLFLOW_TRACKING_URI": tracking_uri, "IRIS_LOG_STORE_URL": store_url, **(extra_env or {})}
    )
    process = start_process(
        [
            str(VENV_BIN / "mlflow"),
            "models",
            "serve",
            "-m",
            model_uri,
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-w",
            str(workers),
            "--env-manager",
            "local",
        ],
        log_path=log_path,
        env=env,
        cwd=workdir,
    )
    server = Server(process=process, port=port, log_path=log_path)
    try:
        wait_for_http(f"{server.url}/ping", timeout=timeout, process=process, log_path=log_path)
    except Exception:
        server.stop()
        raise
    return server


def start_sidecar(
    store_url: str,
    workdir: Path,
    *,
    tracking_uri: str | None = None,
    scoring_url: str = "http://127.0.0.1:9",
    token: str | None = None,
    workers: int = 2,
    extra_env: dict[str, str] | None = None,
    isolated: bool = False,
    timeout: float = 60.0,
) -> Server:
    """Start the sidecar with scripts/run-sidecar.sh (real gunicorn) on a free port.

    ``tracking_uri`` defaults to a SQLite registry in ``workdir``. ``isolated`` first drops
    the project's and the sidecar's variables inherited from the shell that ran pytest.
    ``extra_env`` comes last and may override anything (a project folder, a metrics folder
    two sidecars share in turn). Ready once /health answers: 200, or 503 while the store or
    the registry is unreachable, which some tests want.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = base_env()
    if isolated:
        for name in (*ENV_VARS, *SIDECAR_ENV_VARS):
            env.pop(name, None)
    env.update(
        {
            "IRIS_LOG_STORE_URL": store_url,
            "MLFLOW_TRACKING_URI": tracking_uri or sqlite_tracking_uri(workdir),
            "SCORING_URL": scoring_url,
            "SIDECAR_BIND": f"127.0.0.1:{port}",
            "SIDECAR_WORKERS": str(workers),
            "PROMETHEUS_MULTIPROC_DIR": str(workdir / f"prometheus-multiproc-{port}"),
            "IRIS_JOBS_DIR": str(workdir / "jobs"),
            **({"SIDECAR_TOKEN": token} if token else {}),
            **(extra_env or {}),
        }
    )
    log_path = workdir / f"sidecar-{port}.log"
    process = start_process(
        [str(REPO_ROOT / "scripts" / "run-sidecar.sh")], log_path=log_path, env=env, cwd=workdir
    )
    server = Server(process=process, port=port, log_path=log_path)
    try:
        wait_for_http(
            f"{server.url}/health",
            process=process,
            log_path=log_path,
            ok_statuses=(200, 503),
            timeout=timeout,
        )
    except Exception:
        server.stop()
        raise
    return server


def start_tracking_server(tracking_uri: str, workdir: Path, port: int | None = None) -> Server:
    """``mlflow server`` over ``tracking_uri`` on ``port`` (or a free one), once /health answers."""
    port = port or free_port()
    log_path = workdir / "tracking.log"
    process = start_process(
        [str(VENV_BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port)]
        + ["--backend-store-uri", tracking_uri, "--workers", "1"],
        log_path=log_path,
        env=base_env(),
        cwd=workdir,
    )
    server = Server(process=process, port=port, log_path=log_path)
    wait_for_http(f"{server.url}/health", timeout=120, process=process, log_path=log_path)
    return server


def trial_registry(folder: Path, name: str = "iris-classifier") -> str:
    """A local registry in ``folder`` for a trial: versions 1 and 2 of ``name``, @champion 1,
    @challenger 2, canary 10 %; no model files behind them. Its tracking URI."""
    uri = sqlite_tracking_uri(folder)
    client = MlflowClient(uri, uri)
    client.create_registered_model(name)
    for _ in range(2):
        client.create_model_version(name, source=str(folder / "model"))
    client.set_registered_model_alias(name, contract.CHAMPION, "1")
    client.set_registered_model_alias(name, contract.CHALLENGER, "2")
    client.set_registered_model_tag(name, contract.CANARY_PERCENT_TAG, "10")
    return uri
