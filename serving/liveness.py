"""Liveness, not only exit codes: a thread per scoring process that keeps asking /ping.

A process that still runs but no longer answers (deadlocked, stopped, swapping) looks
alive to ``poll()``. The probe asks its private port directly, not through HAProxy, so a
busy edge cannot make a healthy process look dead. The supervisor reads ``silent_for``
and replaces a process that has not answered for its liveness timeout.
"""

from __future__ import annotations

import threading
import time

import requests


class Liveness:
    """Pings ``url``/ping every ``interval`` seconds; remembers the last 200."""

    def __init__(self, url: str, interval: float = 1.0, timeout: float = 2.0) -> None:
        self.url = f"{url}/ping"
        self.interval = interval
        self.timeout = timeout
        self.last_ok = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"liveness {url}", daemon=True)
        self._thread.start()

    def silent_for(self) -> float:
        """Seconds since /ping last answered 200 (or since the probe started)."""
        return time.monotonic() - self.last_ok

    def stop(self) -> None:
        """End the probe thread (it exits within one ping timeout)."""
        self._stop.set()

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                try:
                    if session.get(self.url, timeout=self.timeout).status_code == 200:
                        self.last_ok = time.monotonic()
                except requests.RequestException:
                    pass
                self._stop.wait(self.interval)
