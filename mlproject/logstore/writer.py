"""The non-blocking log writer: request threads enqueue, one background thread commits batches."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence

import sqlalchemy as sa

from mlproject.logstore import counters as c
from mlproject.logstore.batches import Item, commit_batch
from mlproject.logstore.engine import ensure_schema
from mlproject.logstore.outage import GiveUp, Outage, is_outage
from mlproject.logstore.records import PredictionRecord, RejectionRecord

logger = logging.getLogger(__name__)


class LogWriter:
    """Queue prediction and rejection records and commit them in batches off the request path.

    Synchronous inserts per request cut served throughput by a third; here a request only
    appends to an in-memory queue, bounded by ``max_backlog`` rows (overflow is counted,
    logged and added to iris_prediction_log_dropped_total, never silently lost).
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        max_backlog: int = 100_000,
        batch_size: int = 500,
        flush_interval: float = 0.2,
        retry_interval: float = 1.0,
    ) -> None:
        self._engine = engine
        self._max_backlog = max_backlog
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._retry_interval = retry_interval
        # RLock: a SIGTERM handler may flush() while the main thread sits inside submit.
        self._cond = threading.Condition(threading.RLock())
        self._queue: deque[Item] = deque()
        self._queued_rows = 0
        self._inflight_rows = 0
        self._enqueued = 0  # seq of the last queued item
        self._committed = 0  # every item with seq <= this is committed (or given up)
        self._dropped = 0
        self._owed: Counter = Counter()  # counter deltas for rows that were never queued
        self._owed_gen = 0
        self._owed_committed_gen = 0
        self._flush_waiters = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._outage = Outage(retry_interval, self._stop)

    @property
    def backlog(self) -> int:
        """Rows submitted but not yet committed."""
        with self._cond:
            return self._queued_rows + self._inflight_rows

    @property
    def dropped(self) -> int:
        """Rows dropped since start because the backlog bound was hit (or unwritable)."""
        with self._cond:
            return self._dropped

    def start(self) -> None:
        """Start the background thread (idempotent)."""
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            # Daemon: uvicorn exits the interpreter normally and atexit close() drains us.
            self._thread = threading.Thread(target=self._run, name="iris-log-writer", daemon=True)
            self._thread.start()

    def submit_predictions(
        self, records: Sequence[PredictionRecord], latency_seconds: float
    ) -> None:
        """Queue one request's prediction rows and its latency observation; never blocks on I/O."""
        self._offer(Item(predictions=tuple(records), latency_seconds=latency_seconds))

    def submit_rejection(self, record: RejectionRecord) -> None:
        """Queue one rejected request; never blocks on I/O."""
        self._offer(Item(rejection=record))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted before this call is committed; False on timeout."""
        with self._cond:
            target, owed_gen = self._enqueued, self._owed_gen

            def done() -> bool:
                return self._committed >= target and self._owed_committed_gen >= owed_gen

            if self._thread is None or not self._thread.is_alive():
                return done()
            self._flush_waiters += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(done, timeout)
            finally:
                self._flush_waiters -= 1

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is queued (for up to ``timeout`` seconds), then stop the thread."""
        with self._cond:
            if self.backlog or self._owed:
                self.start()
            thread = self._thread
            self._outage.deadline = time.monotonic() + timeout
            self._stop.set()
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout + 1.0)
        if self.backlog:
            logger.error("log writer stopped with %d rows not committed", self.backlog)

    def _offer(self, item: Item) -> None:
        with self._cond:
            backlog = self._queued_rows + self._inflight_rows
            if self._stop.is_set() or backlog + item.rows > self._max_backlog:
                why = "writer closed" if self._stop.is_set() else "backlog full"
                self._owed.update(self._drop(item, why))
                self._owed_gen += 1
                self._cond.notify_all()
                return
            self._enqueued += 1
            item.seq, item.queued_at = self._enqueued, time.monotonic()
            was_empty = not self._queue
            self._queue.append(item)
            self._queued_rows += item.rows
            if was_empty or self._queued_rows >= self._batch_size:
                self._cond.notify_all()

    def _drop(self, item: Item, why: str) -> Counter:
        """Count ``item`` as dropped (caller holds the lock); returns the counters it owes."""
        self._dropped += item.rows
        owed = c.dropped_deltas(item.rows)
        if item.latency_seconds is not None:
            # The request was served all the same: keep its latency observation.
            owed.update(c.latency_deltas(item.latency_seconds))
        logger.warning(
            "prediction log %s: dropped %d rows (%d dropped in total)",
            why,
            item.rows,
            self._dropped,
        )
        return owed

    def _run(self) -> None:
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    return
                items, owed, owed_gen = batch
                self._commit(items, owed)
                with self._cond:
                    if items:
                        self._committed = items[-1].seq
                    self._inflight_rows = 0
                    self._owed_committed_gen = owed_gen
                    self._cond.notify_all()
        except GiveUp:
            logger.error("log store still failing at close; %d rows not committed", self.backlog)
        except Exception:  # the thread must not die silently: say why before it does
            logger.exception("log writer thread crashed; %d rows not committed", self.backlog)

    def _next_batch(self) -> tuple[list[Item], Counter, int] | None:
        with self._cond:
            while True:
                if not self._queue and not self._owed:
                    if self._stop.is_set():
                        return None
                    self._cond.wait()
                    continue
                oldest = self._queue[0].queued_at if self._queue else time.monotonic()
                wait = oldest + self._flush_interval - time.monotonic()
                urgent = self._stop.is_set() or self._flush_waiters or not self._queue
                if urgent or wait <= 0 or self._queued_rows >= self._batch_size:
                    break
                self._cond.wait(wait)
            items: list[Item] = []
            rows = 0
            while self._queue and (not items or rows + self._queue[0].rows <= self._batch_size):
                item = self._queue.popleft()
                items.append(item)
                rows += item.rows
            self._queued_rows -= rows
            self._inflight_rows = rows
            owed, self._owed = self._owed, Counter()
            return items, owed, self._owed_gen

    def _commit(self, items: list[Item], owed: Counter, is_retry: bool = False) -> None:
        """Commit ``items`` whole, retrying through outages; bisect to isolate a bad row."""
        while True:
            try:
                # Separately: a migration that cannot run yet is an outage, never a bad row.
                ensure_schema(self._engine)
            except Exception as exc:  # noqa: BLE001 - whatever the cause, retry later
                self._outage.failed(exc, self.backlog)
                continue
            try:
                commit_batch(self._engine, items, owed, is_retry=is_retry)
            except Exception as exc:
                if is_outage(exc):
                    is_retry = True
                    self._outage.failed(exc, self.backlog)
                    continue
                self._reject_bad(items, owed, exc)
                return
            self._outage.succeeded()
            return

    def _reject_bad(self, items: list[Item], owed: Counter, exc: Exception) -> None:
        # Not an outage: some row cannot be written. Halve until the bad item is alone, so
        # one malformed record cannot block the queue forever.
        if len(items) > 1:
            half = len(items) // 2
            self._commit(items[:half], owed, is_retry=True)
            self._commit(items[half:], Counter(), is_retry=True)
            return
        if not items:
            logger.error("log store refused a counter update, dropping it: %s", exc)
            return
        logger.error("log store refused a record, dropping it: %s", exc)
        with self._cond:
            owed = owed + self._drop(items[0], "unwritable record")
        # Committed now, inside this batch's turn, so a flush() waiting on it sees the count.
        self._commit([], owed)
