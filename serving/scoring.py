"""One MLflow scoring server (uvicorn running mlflow's app) for one model version."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from mlflow.pyfunc import scoring_server
from mlflow.utils.file_utils import path_to_local_file_uri

from serving.smoke import smoke_token

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


class NotReady(Exception):
    """The process exited, or /ping did not answer 200 in time."""


@dataclass(eq=False)
class ScoringProcess:
    """A running ``uvicorn mlflow.pyfunc.scoring_server.app:app`` on a private port."""

    version: str
    port: int
    process: subprocess.Popen
    log_path: Path
    started_at: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def exit_code(self) -> int | None:
        """None while running, else the exit code (negative: killed by that signal)."""
        return self.process.poll()

    def log_tail(self, lines: int = 3) -> str:
        """The last non-empty lines of the process's output, for refusal reasons."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        kept = [line.strip() for line in text.splitlines() if line.strip()]
        return " | ".join(kept[-lines:])[-600:]

    def wait_ready(self, timeout: float, stop: threading.Event) -> None:
        """Return once /ping answers 200; raise NotReady if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not stop.is_set():
            code = self.exit_code()
            if code is not None:
                raise NotReady(f"scoring process exited with code {code}: {self.log_tail()}")
            try:
                if requests.get(f"{self.url}/ping", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            stop.wait(0.1)
        raise NotReady("stopping" if stop.is_set() else f"/ping not OK within {timeout:.0f}s")

    def stop(self, timeout: float) -> int | None:
        """SIGTERM (uvicorn's graceful shutdown, which runs the pyfunc's atexit), then SIGKILL."""
        if self.exit_code() is None:
            _signal_group(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("version %s pid %s ignored SIGTERM; killing", self.version, self.pid)
        # Whatever the process left in its group (uvicorn --workers children) goes too.
        _signal_group(self.pid, signal.SIGKILL)
        return self.process.wait()


def start_scoring_process(
    model_path: Path,
    version: str,
    *,
    log_dir: Path,
    workers: int = 1,
    request_timeout: int = 60,
    extra_env: dict[str, str] | None = None,
) -> ScoringProcess:
    """Start MLflow's scoring server for ``model_path`` as ``mlflow models serve`` does.

    Same command and environment as ``mlflow.pyfunc.scoring_server.get_cmd``, plus
    ``IRIS_MODEL_VERSION`` so predictions carry the version, and a long keep-alive because
    only the supervisor's proxy connects (it closes connections itself before a drain).
    """
    port = _free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"scoring-v{version}-{port}.log"
    env = dict(os.environ)
    env.update(extra_env or {})
    env[scoring_server._SERVER_MODEL_PATH] = path_to_local_file_uri(str(model_path))
    env["MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"] = str(request_timeout)
    env["IRIS_MODEL_VERSION"] = str(version)
    env["IRIS_SMOKE_TOKEN"] = smoke_token()
    uvicorn = Path(sys.executable).with_name("uvicorn")
    args = [str(uvicorn) if uvicorn.exists() else "uvicorn", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--timeout-keep-alive", "75"]
    if workers > 1:
        args += ["--workers", str(workers)]
    args.append("mlflow.pyfunc.scoring_server.app:app")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # nosec B603 # our argv list, no shell
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            # Its own group: a Ctrl-C meant for the supervisor must not reach it directly,
            # the supervisor stops it in order (drain first).
            start_new_session=True,
            preexec_fn=_parent_death_signal(),
        )
    logger.info("started version %s: pid %s port %s log %s", version, process.pid, port, log_path)
    return ScoringProcess(version=version, port=port, process=process, log_path=log_path)


def _parent_death_signal():
    """A preexec_fn that has the child get SIGTERM when the supervisor dies (even by -9).

    As mlflow's own backend does. libc is loaded here, in the parent: the child only calls
    prctl between fork and exec, where little else is safe.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL("libc.so.6", use_errno=True)

    def _preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return _preexec


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
