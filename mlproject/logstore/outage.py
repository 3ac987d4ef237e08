"""How the writer tells a store outage from a bad row, and waits one out."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

logger = logging.getLogger(__name__)


class GiveUp(Exception):
    """The writer is closing, its deadline passed, and the store is still failing."""


def is_outage(exc: BaseException) -> bool:
    """True when retrying the same batch later can succeed (store down, locked, missing)."""
    if isinstance(exc, OperationalError | InterfaceError | OSError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class Outage:
    """Tracks one outage at a time: warns once when it starts and once when it ends."""

    def __init__(self, retry_interval: float, stop: threading.Event) -> None:
        self.retry_interval = retry_interval
        self.deadline = float("inf")  # set by close(): when to stop retrying
        self._stop = stop
        self._since: float | None = None

    def failed(self, exc: BaseException, backlog: int) -> None:
        """Record a failed attempt, then wait before the next; raises GiveUp past the deadline."""
        if self._since is None:
            self._since = time.monotonic()
            message = str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""]
            logger.warning(
                "log store unavailable, keeping %d rows queued and retrying every %.1f s: %s",
                backlog,
                self.retry_interval,
                message[0][:300],
            )
        if not self._stop.is_set():
            # Woken early by close(), which then gives the remaining time to retries.
            self._stop.wait(self.retry_interval)
            return
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise GiveUp
        time.sleep(min(self.retry_interval, remaining))

    def succeeded(self) -> None:
        """Record a commit; ends the current outage, if any."""
        if self._since is not None:
            logger.warning("log store reachable again after %.1f s", time.monotonic() - self._since)
            self._since = None
