"""Faults for tests: a TCP forwarder to cut a database off, immutable folders, a small disk,
and a watcher that records what ``/health`` said while a fault lasted."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.processes import free_port


class TcpForwarder:
    """127.0.0.1:<port> -> 127.0.0.1:<target_port>; ``stop()`` refuses new connections and
    cuts the open ones (the server behind it looks down), ``start()`` brings it back.

    Lets a test make one throwaway database unreachable without touching the shared
    PostgreSQL cluster.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            open_sockets, self._sockets = self._sockets, set()
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, server}
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def set_immutable(paths: list[Path], on: bool) -> None:
    """``chattr +i`` / ``-i``: even root, and file descriptors already open, cannot write.

    (A plain chmod does not stop root, and a read-only bind mount does not stop a
    descriptor opened before it.)
    """
    existing = [str(p) for p in paths if p.exists()]
    if existing:
        subprocess.run(["chattr", "+i" if on else "-i", *existing], check=True)


@contextlib.contextmanager
def small_disk(path: Path, size: str):
    """A tmpfs of ``size`` at ``path`` (needs root); yields True, or False if not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
            capture_output=True,
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=False)


@dataclass
class HealthWatch:
    """Polls ``GET <url>/health`` every ``interval`` s, recording (time, status, store ok)."""

    url: str
    interval: float = 0.5
    answers: list[tuple[float, int | None, bool | None]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> HealthWatch:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            at = time.monotonic()
            try:
                response = requests.get(f"{self.url}/health", timeout=10)
                body = response.json()
                # The report's own word, or the 503 a query in the middle of it raised.
                store = body.get("log_store", {}).get("reachable")
                if store is None and body.get("error") == "store_unavailable":
                    store = False
                self.answers.append((at, response.status_code, store))
            except (requests.RequestException, ValueError):
                self.answers.append((at, None, None))
            self._stop.wait(self.interval)

    def wait_for_answers(self, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.answers) < count:
            assert time.monotonic() < deadline, f"/health answered {len(self.answers)} times"
            time.sleep(0.1)

    def between(self, start: float, end: float) -> list[tuple[float, int | None, bool | None]]:
        return [a for a in self.answers if start <= a[0] <= end]
