"""Run the batch-scoring job as users do: the CLI or the MLproject entry point."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.processes import REPO_ROOT, VENV_BIN, base_env


def run_job(
    args: list[str], tracking_uri: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``args`` (the batch job, one way or another) and return the finished process."""
    return subprocess.run(
        args,
        cwd=cwd,
        env=base_env({"MLFLOW_TRACKING_URI": tracking_uri, **(env or {})}),
        capture_output=True,
        text=True,
        timeout=300,
    )


def batch_cli(*options: str) -> list[str]:
    return [str(VENV_BIN / "python"), "-m", "mlproject.batch", *options]


def mlflow_run_batch(**params: str) -> list[str]:
    args = [str(VENV_BIN / "mlflow"), "run", str(REPO_ROOT), "-e", "batch_score"]
    args += ["--env-manager", "local", "--experiment-name", "iris-batch-scoring"]
    for name, value in params.items():
        args += ["-P", f"{name}={value}"]
    return args


def summary_of(result: subprocess.CompletedProcess) -> dict:
    """The job's JSON summary line (the last line of its stdout); fail with its output."""
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
