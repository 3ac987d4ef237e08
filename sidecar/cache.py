"""One small time-to-live cache for the values the sidecar looks up on demand.

Drift reports, the model in service and registry lineage are each costly to compute and
asked for on every poll and scrape; each is kept for a few seconds per process. One
computation runs at a time per cache, so a burst of requests waits for one answer
instead of each computing its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    """Values by key, each fresh for ``ttl`` seconds (or ``ttl(value)``, per value)."""

    def __init__(
        self,
        ttl: float | Callable[[V], float],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, V]] = {}

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The fresh value for ``key``, computing (and keeping) it when there is none.

        An exception from ``compute`` propagates and nothing is kept.
        """
        with self._lock:
            now = self._clock()
            entry = self._entries.get(key)
            if entry is not None and now < entry[0]:
                return entry[1]
            value = compute()
            ttl = self._ttl(value) if callable(self._ttl) else self._ttl
            self._entries = {k: e for k, e in self._entries.items() if now < e[0]}
            self._entries[key] = (self._clock() + ttl, value)
            return value

    def clear(self) -> None:
        """Forget every value."""
        with self._lock:
            self._entries.clear()
