"""Batch-scoring fixtures: Java for Spark, a registry with a champion, the job as a process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.processes import REPO_ROOT, VENV_BIN, base_env
from tests.support.stack import sqlite_tracking_uri, train


def require_java() -> None:
    """Skip without a Java runtime (Spark needs 17+), or fail when CI is set."""
    if shutil.which("java") or os.environ.get("JAVA_HOME"):
        return
    reason = "no Java runtime on PATH or JAVA_HOME: Spark (batch scoring) needs Java 17+"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so a missing tool is a failure, not a skip")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A file-based tracking store whose iris-classifier@champion is version 1."""
    require_java()
    workdir = tmp_path_factory.mktemp("batch-registry")
    tracking_uri = sqlite_tracking_uri(workdir)
    train(tracking_uri, workdir, "--candidates", "logistic_regression", "--cv-folds", "2")
    return {"tracking_uri": tracking_uri, "workdir": workdir}


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
