"""Per-client token buckets for the write endpoints: ``POST /feedback`` and ``POST /retrain``.

Each client (its address as the sidecar sees it) has a bucket per endpoint holding up to
``burst`` tokens, refilled at ``per_minute``; a request takes one token or is refused with
429 and ``Retry-After`` (whole seconds until a token is back). The check runs before the
token check, so guessing SIDECAR_TOKEN is rate limited too.

Caveats, stated rather than hidden:
- Buckets live in each process's memory. Under gunicorn with W workers a client may get
  up to W times the burst and rate (the kernel spreads connections over workers). A limit
  shared by every worker would need a table in the log store.
- Behind a reverse proxy every client shares the proxy's address, hence one bucket.
- At most ``MAX_CLIENTS`` buckets are kept per endpoint; the least recently seen client
  is forgotten first (and starts again with a full bucket), so memory stays bounded.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, request

from .config import RateLimit
from .errors import TooManyRequests

MAX_CLIENTS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One token bucket per client key, for one endpoint."""

    def __init__(
        self,
        limit: RateLimit,
        max_clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self._per_second = limit.per_minute / 60.0
        self._max_clients = max_clients
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, client: str) -> float | None:
        """Take a token for ``client``: None if granted, else seconds until one is back."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.pop(client, None) or _Bucket(float(self.limit.burst), now)
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(float(self.limit.burst), bucket.tokens + elapsed * self._per_second)
            bucket.updated = now
            self._buckets[client] = bucket  # most recently seen last
            while len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return (1.0 - bucket.tokens) / self._per_second


def init_rate_limits(app: Flask, limits: dict[tuple[str, str], RateLimit]) -> None:
    """Limit each ``(method, route)`` of ``limits``, e.g. ``("POST", "/feedback")``."""
    buckets = {key: TokenBuckets(limit) for key, limit in limits.items()}
    app.extensions["sidecar.rate_limits"] = buckets

    @app.before_request
    def _limit() -> None:
        rule = request.url_rule
        found = buckets.get((request.method, rule.rule)) if rule is not None else None
        if found is None:
            return
        wait = found.take(request.remote_addr or "unknown")
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise TooManyRequests(
                f"too many {request.method} {rule.rule} requests from this client: at most "
                f"{found.limit.burst} at once and {found.limit.per_minute} a minute; "
                f"retry after {seconds} s",
                headers={"Retry-After": str(seconds)},
                extra={"retry_after": seconds},
            )
