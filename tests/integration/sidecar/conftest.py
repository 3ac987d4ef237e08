"""Real gunicorn sidecars (scripts/run-sidecar.sh) on free ports, over each test's store."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import pytest
import requests

from sidecar.config import SIDECAR_ENV_VARS
from tests.support.processes import (
    Server,
    kill_group,
)
from tests.support.stack import start_sidecar as start_sidecar_process

TOKEN = "integration-token-456"
HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def clean_sidecar_environment(monkeypatch):
    for name in SIDECAR_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def tiny_project(tmp_path):
    """A copy of the tiny MLflow Project whose main entry point sleeps, then writes a summary."""
    return Path(shutil.copytree(HERE / "tiny_project", tmp_path / "project"))


@pytest.fixture
def start_sidecar(tmp_path, tiny_project):
    """Start scripts/run-sidecar.sh over ``store_url``; every sidecar stops at teardown."""
    servers: list[Server] = []

    def start(
        store_url: str,
        *,
        workers: int = 2,
        token: str | None = TOKEN,
        env: dict[str, str] | None = None,
        project_dir: Path | None = None,
    ) -> Server:
        server = start_sidecar_process(
            store_url,
            tmp_path,
            token=token,
            workers=workers,
            extra_env={
                # Shared by the sidecars a test starts in turn, like one deployment's.
                "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus-multiproc"),
                "IRIS_PROJECT_DIR": str(project_dir or tiny_project),
                **(env or {}),
            },
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        # Cleanup, not a test of the graceful stop (tests that check it stop by themselves):
        # gunicorn's 20 s graceful timeout would otherwise be waited out at every teardown.
        server.stop(timeout=3)


@pytest.fixture
def job_pids():
    """Training process groups a test started; any still alive are killed at teardown."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        kill_group(pid, signal.SIGKILL)


def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def wait_for_job(
    url: str, job_id: str, states=("succeeded", "failed"), timeout: float = 120.0
) -> dict:
    """Poll GET /retrain/<job_id> until its state is one of ``states``."""
    deadline = time.monotonic() + timeout
    job: dict = {}
    while time.monotonic() < deadline:
        job = requests.get(f"{url}/retrain/{job_id}", headers=auth(), timeout=10).json()
        if job.get("state") in states:
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {job.get('state')} after {timeout}s: {job}")
