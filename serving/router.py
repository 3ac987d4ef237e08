"""Which scoring process gets the next request, and how many requests each one has in flight."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Protocol


class Endpoint(Protocol):
    """A scoring process the proxy can reach (ScoringProcess satisfies it)."""

    version: str
    port: int


class Router:
    """Holds the active endpoint; switching it is atomic, and draining waits on counts.

    Requests never see a half-switched state: each one acquires the active endpoint (or
    waits for one while none is up), and releases it when its answer is read.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active: Endpoint | None = None
        self._inflight: Counter = Counter()
        self._closed = False

    @property
    def active(self) -> Endpoint | None:
        return self._active

    def set_active(self, endpoint: Endpoint | None) -> Endpoint | None:
        """Route new requests to ``endpoint`` (None: hold them); return the previous one."""
        with self._cond:
            previous, self._active = self._active, endpoint
            self._cond.notify_all()
            return previous

    def acquire(self, deadline: float) -> Endpoint | None:
        """The active endpoint, counted as in flight; None if closed or none by ``deadline``."""
        with self._cond:
            while not self._closed and self._active is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if self._closed:
                return None
            self._inflight[id(self._active)] += 1
            return self._active

    def release(self, endpoint: Endpoint) -> None:
        """The request sent to ``endpoint`` is done (answered or failed)."""
        with self._cond:
            self._inflight[id(endpoint)] -= 1
            if self._inflight[id(endpoint)] <= 0:
                del self._inflight[id(endpoint)]
            self._cond.notify_all()

    def inflight(self, endpoint: Endpoint | None = None) -> int:
        """Requests in flight to ``endpoint``, or to any endpoint when None."""
        with self._cond:
            if endpoint is None:
                return sum(self._inflight.values())
            return self._inflight[id(endpoint)]

    def wait_drained(self, endpoint: Endpoint | None, timeout: float) -> bool:
        """Wait until nothing is in flight to ``endpoint`` (None: to any); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.inflight(endpoint) > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def close(self) -> None:
        """Refuse every request from now on (the supervisor is stopping)."""
        with self._cond:
            self._closed = True
            self._active = None
            self._cond.notify_all()
