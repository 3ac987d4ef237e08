"""How far the log may be read: the highest seq seen at least ``settle`` seconds ago.

Sequence numbers are handed out when a row is inserted, not when it is committed: with
two writers on PostgreSQL, row 101 can become visible before row 100. A cursor that moved
past 101 would then skip 100 for good. Reading only up to a seq that was already the
newest ``settle`` seconds ago leaves every writer's short transaction time to commit
(one shipper per host commits in order; SQLite serialises writers, so there it is moot).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SettledHorizon:
    """Remembers (time, newest seq) observations; answers the newest settled one."""

    def __init__(self, settle_seconds: float, clock: Callable[[], float] = time.monotonic):
        self._settle = settle_seconds
        self._clock = clock
        self._seen: deque[tuple[float, int]] = deque()
        self._settled = 0

    def observe(self, newest: int) -> int:
        """Record ``newest`` now; return the highest seq that is settled."""
        now = self._clock()
        self._seen.append((now, newest))
        while self._seen and now - self._seen[0][0] >= self._settle:
            self._settled = max(self._settled, self._seen.popleft()[1])
        return self._settled
