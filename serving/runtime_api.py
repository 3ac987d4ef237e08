"""HAProxy's runtime API on the admin socket: the only way the supervisor moves traffic.

One command per connection (HAProxy's non-interactive mode answers and closes); several
commands joined by ``;`` run back to back in one HAProxy task, which is how a switch
readies the new servers and drains the old ones in one step.
"""

from __future__ import annotations

import csv
import io
import socket
import time
from pathlib import Path

# How HAProxy 2.6 begins an answer that means the command did nothing (it carries on).
_ERRORS = (
    "No such",
    "Unknown",
    "Require",
    "Invalid",
    "Missing",
    "Usage",
    "entry not found",
    "'set ",
    "Can't",
    "can't",
    "Failed",
    "failed",
    "Permission denied",
)


class RuntimeApiError(Exception):
    """HAProxy refused a command, or its socket did not answer."""


class RuntimeApi:
    """Commands to one HAProxy's admin socket (``stats socket ... level admin``)."""

    def __init__(self, socket_path: Path, timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def execute(self, command: str) -> str:
        """Send ``command`` and return HAProxy's whole answer (no interpretation)."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(str(self.socket_path))
                sock.sendall(command.encode() + b"\n")
                chunks = []
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
        except OSError as exc:
            raise RuntimeApiError(f"{command!r}: {type(exc).__name__}: {exc}") from exc
        return b"".join(chunks).decode(errors="replace")

    def run(self, *commands: str) -> str:
        """Run ``commands`` in one go; raise RuntimeApiError if HAProxy refused any."""
        answer = self.execute("; ".join(commands))
        for line in answer.splitlines():
            if line.strip().startswith(_ERRORS):
                raise RuntimeApiError(f"{'; '.join(commands)!r}: {answer.strip()}")
        return answer

    def wait_until_up(self, timeout: float) -> None:
        """Return once the socket answers ``show info``; raise RuntimeApiError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if "Name: HAProxy" in self.execute("show info"):
                    return
            except RuntimeApiError:
                if time.monotonic() >= deadline:
                    raise
            if time.monotonic() >= deadline:
                raise RuntimeApiError(f"{self.socket_path} did not answer show info in time")
            time.sleep(0.05)

    def server_stats(self, backend: str) -> dict[str, dict[str, str]]:
        """``show stat`` for the servers of ``backend``: {server name: {column: value}}."""
        answer = self.execute(f"show stat {backend} 4 -1")
        if not answer.startswith("# "):
            raise RuntimeApiError(f"show stat {backend}: {answer.strip()[:200]}")
        rows = csv.DictReader(io.StringIO(answer[2:]))
        return {row["svname"]: row for row in rows if row.get("pxname") == backend}
