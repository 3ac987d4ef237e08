"""HAProxy as a child of the supervisor: find it, start it in the foreground, stop it softly.

``haproxy -db -f <run dir>/haproxy/haproxy.cfg``: no daemon, no master process, no
system service. Its stdout carries the access log (one JSON line per request), which a
thread here appends to ``<run dir>/access.log`` chunk by chunk; HAProxy never blocks on
it (it counts a dropped line instead, see HAProxy's ``log`` docs). Its stderr (start-up
warnings) goes to ``<run dir>/logs/haproxy.log``.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from serving.children import Child, start_child
from serving.edge_files import EdgeFiles
from serving.runtime_api import RuntimeApi

logger = logging.getLogger(__name__)

# Debian installs it in /usr/sbin, which is not on every user's PATH.
_SEARCH_PATH = ("/usr/sbin", "/usr/local/sbin", "/sbin")
INSTALL_HINT = (
    "haproxy is not installed: run `sudo apt-get install haproxy` (Debian/Ubuntu; "
    "`make serve` does it when run as root), or install HAProxy >= 2.6 built with the "
    "Prometheus exporter and put it on PATH"
)


class HAProxyMissing(Exception):
    """No haproxy binary; the message says how to install one."""


def find_haproxy() -> str:
    """Path of the haproxy binary (PATH, then the sbin folders); raise HAProxyMissing."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *_SEARCH_PATH])
    found = shutil.which("haproxy", path=path)
    if not found:
        raise HAProxyMissing(INSTALL_HINT)
    return found


def check_config(binary: str, config: Path, env: dict[str, str]) -> None:
    """``haproxy -c``: raise ValueError with HAProxy's own message if the config is bad."""
    result = subprocess.run(  # nosec B603 # haproxy -c on our rendered config
        [binary, "-c", "-f", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        alerts = [line for line in (result.stderr + result.stdout).splitlines() if "ALERT" in line]
        raise ValueError(f"haproxy -c refused {config}: {' | '.join(alerts)[-2000:]}")


@dataclass(eq=False)
class HAProxyProcess:
    """A running ``haproxy -db`` and the thread that writes its access log."""

    child: Child
    api: RuntimeApi
    files: EdgeFiles
    _pump: threading.Thread

    @property
    def pid(self) -> int:
        return self.child.pid

    def exit_code(self) -> int | None:
        return self.child.exit_code()

    def stop(self, timeout: float) -> int | None:
        """Soft stop (SIGUSR1: stop listening, let requests in flight finish), then kill."""
        # hard-stop-after (the same timeout) ends it first; SIGKILL is the fallback.
        code = self.child.stop(timeout + 1, sig=signal.SIGUSR1)
        self._pump.join(timeout=5)
        return code


def start_haproxy(
    binary: str, files: EdgeFiles, log_dir: Path, env: dict[str, str], ready_timeout: float = 15
) -> HAProxyProcess:
    """Start HAProxy on ``files.config`` and wait until its admin socket answers.

    Raises:
        RuntimeError: HAProxy exited or its socket stayed silent (its log says why).
    """
    check_config(binary, files.config, env)
    child = start_child(
        "haproxy",
        [binary, "-db", "-f", str(files.config)],
        log_path=log_dir / "haproxy.log",
        env=env,
        stdout=subprocess.PIPE,
    )
    pump = threading.Thread(
        target=_split_log,
        args=(child.process.stdout, files.access_log, log_dir / "haproxy.log"),
        name="haproxy-access-log",
        daemon=True,
    )
    pump.start()
    api = RuntimeApi(files.admin_socket)
    process = HAProxyProcess(child=child, api=api, files=files, _pump=pump)
    try:
        api.wait_until_up(ready_timeout)
    except Exception as exc:
        code = process.stop(1)
        raise RuntimeError(f"haproxy did not start (exit {code}): {child.log_tail(5)}") from exc
    logger.info("haproxy pid %s, admin socket %s", child.pid, files.admin_socket)
    return process


def _split_log(stream, access_log: Path, notices: Path) -> None:
    """Copy HAProxy's stdout until EOF: JSON lines to ``access_log``, the rest to ``notices``.

    The rest is the odd proxy start/stop notice HAProxy sends to the same log target.
    """
    access_log.parent.mkdir(parents=True, exist_ok=True)
    fd = stream.fileno()
    pending = b""
    with access_log.open("ab", buffering=0) as out, notices.open("ab", buffering=0) as other:
        while chunk := os.read(fd, 1 << 16):
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            json_lines = [line for line in lines if line.startswith(b"{")]
            if json_lines:
                out.write(b"\n".join(json_lines) + b"\n")
            if len(json_lines) != len(lines):
                other.write(b"".join(line + b"\n" for line in lines if not line.startswith(b"{")))
        if pending:
            (out if pending.startswith(b"{") else other).write(pending + b"\n")
    stream.close()
