"""The Compose services as processes on this machine (the stack-on-postgres test's parts).

Each service is started by the script its image runs, with the environment Compose sets
and ports the OS picks; docker/healthcheck.py is run as the images' HEALTHCHECK runs it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.support.processes import (
    REPO_ROOT,
    Server,
    base_env,
    free_port,
    kill_group,
    start_process,
    wait_for_http,
)

TOKEN = "stack-on-postgres-token"
SCRIPTS = REPO_ROOT / "scripts"
HEALTHCHECK = REPO_ROOT / "docker" / "healthcheck.py"
FAST_TRAINING = ("-P", "candidates=logistic_regression", "-P", "cv_folds=2")


def healthcheck(role: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """docker/healthcheck.py ROLE, as the image's HEALTHCHECK runs it."""
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK), role],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


class Stack:
    """The Compose services as processes: each started by its image's script."""

    def __init__(self, root: Path, mlflow_db: str, logs_db: str) -> None:
        self.root = root
        self.ports = {name: free_port() for name in ("tracking", "scoring", "sidecar")}
        self.tracking_url = f"http://127.0.0.1:{self.ports['tracking']}"
        self.scoring_url = f"http://127.0.0.1:{self.ports['scoring']}"
        self.sidecar_url = f"http://127.0.0.1:{self.ports['sidecar']}"
        # docker-compose.yml's driver for MLflow's backend store (mlflow#24592).
        self.mlflow_db = mlflow_db.replace("postgresql+psycopg://", "postgresql+psycopg2://")
        self.logs_db = logs_db
        # x-project-env in docker-compose.yml, with this machine's addresses.
        self.project_env = {
            "MLFLOW_TRACKING_URI": self.tracking_url,
            "IRIS_MODEL_NAME": "iris-classifier",
            "IRIS_MODEL_ALIAS": "champion",
            "IRIS_LOG_STORE_URL": logs_db,
        }
        self.servers: list[Server] = []
        self.job_pids: set[int] = set()

    def env(self, role: str, **extra: str) -> dict[str, str]:
        state = self.root / role
        state.mkdir(parents=True, exist_ok=True)
        return base_env(
            {
                "IRIS_STATE_DIR": str(state),
                "IRIS_SPOOL_DIR": str(state / "spool"),
                **self.project_env,
                **extra,
            }
        )

    def start(self, role: str, script: str, env: dict[str, str], ready_url: str, **wait) -> None:
        log_path = self.root / f"{role}.log"
        process = start_process(
            ["bash", str(SCRIPTS / script)], log_path=log_path, env=env, cwd=self.root
        )
        server = Server(process, self.ports[role], log_path)
        self.servers.append(server)
        wait_for_http(ready_url, process=process, log_path=log_path, **wait)

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()
        for pid in self.job_pids:
            kill_group(pid, signal.SIGKILL)
