"""Per-writer drop tallies: fixed-size files of counters the shipper adds to the store.

A scoring process that cannot spool a request (spool over its size bound, disk full) adds
it here instead, with ``pwrite`` of the whole fixed-size record: no allocation on a full
disk, nothing kept only in memory, so a kill -9 loses no count. The shipper adds the
difference from what it shipped before, in the same transaction as its bookkeeping.

Slots (unsigned 64-bit): dropped rows, then the dropped requests' latency observations
(count, sum in ns, one cumulative count per bucket of LATENCY_BUCKETS and +Inf).
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Sequence

import numpy as np

from mlproject.logstore import counters as c
from mlproject.logstore.contract import DURATION_BUCKET, DURATION_COUNT
from mlproject.logstore.metrics import LATENCY_BUCKETS

ROWS, LATENCY_COUNT, LATENCY_SUM_NS = 0, 1, 2
_BOUNDS = np.array([*LATENCY_BUCKETS, math.inf])
SLOTS = 3 + len(_BOUNDS)
SIZE = SLOTS * 8


class Tally:
    """The writer's side: its own counts, mirrored to one file descriptor."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.values = np.zeros(SLOTS, dtype="<u8")
        os.pwrite(fd, self.values.tobytes(), 0)  # allocates the blocks now, not when full

    def add(self, rows: int, latency: float | None) -> None:
        """Count ``rows`` dropped and, when given, the request's latency observation."""
        self.values[ROWS] += rows
        if latency is not None:
            self.values[LATENCY_COUNT] += 1
            self.values[LATENCY_SUM_NS] += int(latency * 1e9)
            self.values[3:] += latency <= _BOUNDS
        os.pwrite(self.fd, self.values.tobytes(), 0)


def read(data: bytes) -> list[int] | None:
    """The slots stored in a tally file's bytes, or None if it is not a whole record."""
    if len(data) != SIZE:
        return None
    return [int(v) for v in np.frombuffer(data, dtype="<u8")]


def deltas(current: Sequence[int], shipped: Sequence[int]) -> c.Deltas:
    """Counter deltas for what ``current`` holds beyond ``shipped``."""
    diff = [now - before for now, before in zip(current, shipped, strict=True)]
    out: c.Deltas = Counter()
    if diff[ROWS]:
        out.update(c.dropped_deltas(diff[ROWS]))
    if diff[LATENCY_COUNT]:
        out[(DURATION_COUNT, c.labels_key({}))] += diff[LATENCY_COUNT]
        c.add_latency_sum(out, diff[LATENCY_SUM_NS] / 1e9)
        for bound, count in zip(_BOUNDS, diff[3:], strict=True):
            if count:
                out[(DURATION_BUCKET, c.labels_key({"le": c.go_float(bound)}))] += count
    return out
