"""The operating-system side of a retrain job: command, environment, waiting, liveness."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import SidecarSettings

logger = logging.getLogger(__name__)

# mlflow from the same virtualenv as the sidecar, whatever PATH says.
VENV_BIN = Path(sys.executable).parent

# Never handed to training: the sidecar's secret and its metrics directory.
_WITHHELD = ("SIDECAR_TOKEN", "PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")


def command(settings: SidecarSettings, summary_path: Path, params: Mapping[str, Any]) -> list[str]:
    """``mlflow run <project> -e main --env-manager local -P summary_path=... -P k=v ...``."""
    args = [
        str(VENV_BIN / "mlflow"),
        "run",
        str(settings.project_dir),
        "-e",
        "main",
        "--env-manager",
        "local",
        "-P",
        f"summary_path={summary_path}",
    ]
    for name, value in sorted(params.items()):
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        args += ["-P", f"{name}={text}"]
    return args


def environment(settings: SidecarSettings) -> dict[str, str]:
    """The sidecar's environment for training, with the project's stores made explicit."""
    env = {k: v for k, v in os.environ.items() if k not in _WITHHELD}
    project = settings.project
    env["MLFLOW_TRACKING_URI"] = project.tracking_uri
    env["IRIS_LOG_STORE_URL"] = project.log_store_url
    env["IRIS_MODEL_NAME"] = project.model_name
    env["IRIS_MODEL_ALIAS"] = project.model_alias
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def launch(settings: SidecarSettings, job_dir: Path, params: Mapping[str, Any]) -> subprocess.Popen:
    """Start training in its own session, output to ``job_dir/output.log``."""
    job_dir.mkdir(parents=True, exist_ok=True)
    with (job_dir / "output.log").open("ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen(  # nosec B603 # our argv list, no shell
            command(settings, job_dir / "summary.json", params),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environment(settings),
            cwd=str(job_dir),  # not the project: a fresh tracking store puts ./mlruns here
            start_new_session=True,
        )


def wait_keeping_zombie(process: subprocess.Popen) -> int:
    """Wait for the exit but leave the zombie, so the pid stays visible until we record it.

    Returns the exit code, or minus the signal number as ``Popen.returncode`` does.
    """
    if not hasattr(os, "waitid"):
        return process.wait()
    while True:
        try:
            info = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:
            return process.wait()
        except InterruptedError:
            continue
        if info is None:
            continue
        if info.si_code == os.CLD_EXITED:
            return info.si_status
        return -info.si_status


def describe_exit(code: int) -> str:
    """``exited with code 2`` or ``was killed by SIGKILL``."""
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def is_job_process(pid: int) -> bool:
    """Whether ``pid`` still looks like our training process.

    A zombie still counts while its parent (the worker whose watcher will record it) lives;
    a zombie left to an init that does not reap is gone for our purposes.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc") / str(pid)
    if not proc.exists():
        return True  # no procfs to look closer: trust kill(0)
    try:
        fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            return int(fields[1]) not in (0, 1)
        return b"mlflow" in (proc / "cmdline").read_bytes()
    except (OSError, IndexError, ValueError):
        return False


def read_summary(path: Path) -> dict[str, Any] | None:
    """The training summary JSON, or None when missing or unreadable."""
    try:
        summary = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def tail(path: Path | None, lines: int = 50, max_bytes: int = 64 * 1024) -> list[str]:
    """The last ``lines`` lines of ``path`` without reading more than ``max_bytes``."""
    if path is None:
        return []
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except OSError:
        return []
    return data.decode("utf-8", errors="replace").splitlines()[-lines:]
