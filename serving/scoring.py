"""One scoring process: MLflow's scoring app (guarded, see serving.asgi) for one model version."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from mlflow.pyfunc import scoring_server
from mlflow.utils.file_utils import path_to_local_file_uri

from serving.children import Child, start_child
from serving.smoke import smoke_token

logger = logging.getLogger(__name__)

# Variables of the supervisor that a scoring process has no business seeing.
_PRIVATE_VARIABLES = ("SCORING_TOKEN",)


class NotReady(Exception):
    """The process exited, or /ping did not answer 200 in time."""


@dataclass(eq=False)
class ScoringProcess:
    """A running ``uvicorn --factory serving.asgi:create_app`` on a private port."""

    version: str
    port: int
    child: Child

    @property
    def pid(self) -> int:
        return self.child.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def started_at(self) -> float:
        return self.child.started_at

    def exit_code(self) -> int | None:
        """None while running, else the exit code (negative: killed by that signal)."""
        return self.child.exit_code()

    def wait_ready(self, timeout: float, stop: threading.Event, tick=None) -> None:
        """Return once /ping answers 200; raise NotReady if the process exits or time runs out.

        ``tick`` (if given) is called between attempts: the supervisor watches the
        processes that serve meanwhile, so a crash during a switch is seen at once.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not stop.is_set():
            code = self.exit_code()
            if code is not None:
                raise NotReady(f"scoring process exited with code {code}: {self.child.log_tail()}")
            try:
                if requests.get(f"{self.url}/ping", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if tick is not None:
                tick()
            stop.wait(0.1)
        raise NotReady("stopping" if stop.is_set() else f"/ping not OK within {timeout:.0f}s")

    def stop(self, timeout: float) -> int | None:
        """SIGTERM (uvicorn's graceful shutdown, which runs the pyfunc's atexit), then SIGKILL."""
        return self.child.stop(timeout)


def start_scoring_process(
    model_path: Path,
    version: str,
    *,
    log_dir: Path,
    workers: int = 1,
    request_timeout: int = 60,
    max_body: int | None = None,
    extra_env: dict[str, str] | None = None,
) -> ScoringProcess:
    """Start MLflow's scoring app for ``model_path`` the way ``mlflow models serve`` does.

    Same environment as ``mlflow.pyfunc.scoring_server.get_cmd`` (model path, request
    timeout), plus ``IRIS_MODEL_VERSION`` so predictions carry the version, the smoke
    token, and a keep-alive longer than HAProxy keeps idle connections, so the process
    never closes a connection HAProxy is about to reuse.
    """
    port = _free_port()
    env = dict(os.environ)
    for name in _PRIVATE_VARIABLES:
        env.pop(name, None)
    env.update(extra_env or {})
    env[scoring_server._SERVER_MODEL_PATH] = path_to_local_file_uri(str(model_path))
    env["MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"] = str(request_timeout)
    env["IRIS_MODEL_VERSION"] = str(version)
    env["IRIS_SMOKE_TOKEN"] = smoke_token()
    if max_body is not None:
        env["SCORING_MAX_BODY"] = str(max_body)
    uvicorn = Path(sys.executable).with_name("uvicorn")
    args = [str(uvicorn) if uvicorn.exists() else "uvicorn", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--timeout-keep-alive", "75", "--no-server-header"]
    if workers > 1:
        args += ["--workers", str(workers)]
    args += ["--factory", "serving.asgi:create_app"]
    child = start_child(
        f"scoring v{version}",
        args,
        log_path=log_dir / f"scoring-v{version}-{port}.log",
        env=env,
    )
    logger.info("version %s: pid %s port %s log %s", version, child.pid, port, child.log_path)
    return ScoringProcess(version=version, port=port, child=child)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
