"""Start real servers on ports the OS picks, wait for them, and stop them by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

VENV_BIN = Path(sys.executable).parent
REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment with the venv first on PATH, plus ``extra``."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    if extra:
        env.update(extra)
    return env


@dataclass
class Server:
    """A process started by a test, its port and its combined output file."""

    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        """Send ``sig`` to the process group, wait, then SIGKILL whatever is left."""
        return stop_process(self.process, sig=sig, timeout=timeout)


def start_process(
    args: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
) -> subprocess.Popen:
    """Start ``args`` in its own session (so the whole group can be stopped) logging to a file."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(
        list(args),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(env) if env is not None else base_env(),
        cwd=str(cwd) if cwd else None,
        start_new_session=True,
    )


def stop_process(
    process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20.0
) -> int | None:
    """Signal the process group, wait up to ``timeout`` for all of it, then kill the rest.

    The leader may exit before its children (``mlflow models serve`` dies at once on
    SIGTERM while its uvicorn child drains and flushes), so the whole group is waited for.
    """
    deadline = time.monotonic() + timeout
    if process.poll() is None:
        kill_group(process.pid, sig)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=max(0.1, deadline - time.monotonic()))
    while _group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    kill_group(process.pid, signal.SIGKILL)
    try:
        return process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        return None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def kill_group(pid: int, sig: int) -> None:
    """Signal the process group led by ``pid``; a group that is gone is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def wait_for_http(
    url: str,
    *,
    timeout: float = 60.0,
    process: subprocess.Popen | None = None,
    log_path: Path | None = None,
    ok_statuses: tuple[int, ...] = (200,),
) -> None:
    """Poll ``url`` until it answers one of ``ok_statuses``; fail early if ``process`` died."""
    deadline = time.monotonic() + timeout
    last_error: object = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            output = log_path.read_text(errors="replace")[-4000:] if log_path else ""
            raise RuntimeError(f"process exited with {process.returncode} before {url}:\n{output}")
        try:
            response = requests.get(url, timeout=2)
            if response.status_code in ok_statuses:
                return
            last_error = response.status_code
        except requests.RequestException as exc:
            last_error = exc
        time.sleep(0.2)
    output = log_path.read_text(errors="replace")[-4000:] if log_path else ""
    raise TimeoutError(f"{url} not ready after {timeout}s ({last_error}):\n{output}")


def wait_for(
    check: Callable[[], object],
    what: str,
    timeout: float = 60.0,
    *,
    interval: float = 0.2,
    detail: Callable[[], str] | None = None,
) -> object:
    """The first truthy value of ``check()``, polled every ``interval``; fail naming ``what``.

    The failure shows the last value seen and, when given, ``detail()`` (a server's output).
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    extra = f"\n{detail()}" if detail else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r}){extra}")


def process_stats() -> Iterator[tuple[int, list[str]]]:
    """``(pid, fields)`` of every live process, ``fields`` being /proc/<pid>/stat after the
    name: state, ppid, pgrp, ... (utime and stime at 11 and 12). A process gone meanwhile
    is skipped."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        yield int(entry.name), fields


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block, then restore (or remove) each one."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
