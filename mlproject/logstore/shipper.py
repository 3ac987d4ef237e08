"""The shipper: loads a spool folder into the SQL store, exactly once, in large batches.

One per spool folder (host and store), guarded by ``shipper.lock``. Each pass reads what is
new in every segment, builds one batch (see assemble.py) and commits it together with the
new read offsets (load.py), so a crash or restart of either side neither loses nor repeats
a row. After any failed transaction the offsets are read back from the store: a commit
that succeeded but reported an error is then seen as done, not done twice.

A store outage only delays loading (the spool grows; writers bound it). A batch the store
refuses for its content is retried frame by frame, and a single refused frame is skipped
and counted in ``iris_prediction_log_dropped_total``.

Run ``python -m mlproject.logstore.shipper --help``; see also autostart.py and drain.py.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from mlproject.logstore import counters as c
from mlproject.logstore import layout
from mlproject.logstore.assemble import Assembler
from mlproject.logstore.engine import ensure_schema, immediate_transaction
from mlproject.logstore.housekeeping import Housekeeping
from mlproject.logstore.load import Offsets, forget_offsets, load, read_offsets
from mlproject.logstore.outage import describe, is_outage
from mlproject.logstore.reading import Pass, ReadAhead, SpoolReader
from mlproject.logstore.retention import Retention

logger = logging.getLogger(__name__)


class Shipper:
    """Moves one spool folder's frames into the store behind ``engine``."""

    def __init__(
        self,
        folder: Path,
        engine: sa.Engine,
        *,
        max_rows: int = 50_000,
        max_bytes: int = 32 << 20,
        poll_seconds: float = 0.05,
        retry_seconds: float = 1.0,
        feedback_window: float = 3600.0,
        expire_every: float = 10.0,
        retention: Retention | None = None,
        read_ahead: bool = True,
    ) -> None:
        self.folder = Path(folder)
        self.engine = engine
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self.poll_seconds, self.retry_seconds = poll_seconds, retry_seconds
        self.housekeeping = Housekeeping(
            engine, feedback_window=feedback_window, retention=retention, every=expire_every
        )
        self.read_ahead = read_ahead
        self.stop = threading.Event()
        self.reader = SpoolReader(self.folder)
        self.spool_id = layout.spool_id(self.folder)
        self.offsets: Offsets | None = None  # None: read them from the store first
        self.loaded_rows = 0
        self._careful = 0  # frames still to load one per transaction after a refused batch
        self._outage_since: float | None = None
        self._next: Pass | None = None  # read ahead while the previous batch committed

    def ship_once(self) -> int:
        """One pass: load one batch (if anything is new) and tidy finished files.

        Returns rows loaded. Raises the store's error on an outage (offsets are re-read
        from the store before the next pass). While a full batch commits, the next one is
        read and assembled in a thread (the database works without the GIL meanwhile); it
        is used only if the commit succeeded.
        """
        offsets = self.offsets
        if offsets is None:
            offsets = self.offsets = self._load_offsets()
            self._next = None
        single = self._careful > 0
        work, self._next = self._next or self._collect(offsets, single), None
        if not work.offsets:
            self._tidy(work.done, offsets)
            return 0
        batch = work.assembler.batch
        batch.offsets = work.offsets
        ahead = None
        if self.read_ahead and not single and work.assembler.rows >= self.max_rows // 2:
            ahead = ReadAhead(self._collect, {**offsets, **work.offsets})
        try:
            with immediate_transaction(self.engine) as conn:
                loaded = load(conn, batch, self.spool_id, datetime.now(UTC))
        except Exception as exc:
            if ahead is not None:
                ahead.result()  # finished reading, then dropped: it assumed this commit
            self.offsets = None  # committed or not, the store knows: ask it next time
            if is_outage(exc) or not batch.rows:
                raise
            if single:
                self._skip_refused(work, batch.rows, exc)
                self._careful -= 1
                return 0
            logger.error(
                "log store refused a batch (%s); retrying it frame by frame", describe(exc)
            )
            self._careful = max(work.frames, 1)
            return 0
        if single:
            self._careful -= 1
        offsets.update(work.offsets)
        self.loaded_rows += loaded.predictions + loaded.rejections
        if ahead is not None:
            self._next = ahead.result()
        self._tidy(work.done, offsets)
        return loaded.predictions + loaded.rejections

    def _collect(self, offsets: Offsets, single: bool = False) -> Pass:
        work = Pass(Assembler(self.engine.dialect))
        limit = 1 if single else None
        self.reader.collect(work, offsets, self.max_rows, self.max_bytes, limit)
        if work.drops:  # unreadable frames: at least one row each, counted, never silent
            work.assembler.batch.deltas.update(c.dropped_deltas(work.drops["frames"]))
        if work.offsets:
            work.assembler.finish()
        return work

    def drain(self, timeout: float | None = None) -> bool:
        """Ship until every file is loaded (writers may still be appending); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                shipped = self.ship_once()
                if not shipped and self.backlog_bytes() == 0:
                    return True
            except Exception as exc:  # noqa: BLE001 - outage: wait and retry until deadline
                self._outage(exc)
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def run(self, exit_when_idle: float | None = None) -> None:
        """Ship until ``stop`` is set (or, with ``exit_when_idle``, the spool stays empty)."""
        idle_since: float | None = None
        while not self.stop.is_set():
            try:
                shipped = self.ship_once()
                self.housekeeping.run_due()
                if self._outage_since is not None:
                    logger.warning(
                        "log store reachable again after %.1f s",
                        time.monotonic() - self._outage_since,
                    )
                    self._outage_since = None
            except Exception as exc:  # noqa: BLE001 - never die: say why and retry
                self._outage(exc)
                shipped = 0
            if shipped:
                idle_since = None
                continue
            # An empty spool has nothing to lose, even while the store is unreachable.
            if exit_when_idle is not None and self._spool_empty():
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= exit_when_idle:
                    return
            else:
                idle_since = None
            if self._outage_since is None:
                self.stop.wait(self.poll_seconds)

    def backlog_bytes(self) -> int:
        """Bytes in segments not yet committed to the store (from the last known offsets)."""
        segments, _ = self.reader.files()
        offsets = self.offsets or {}
        total = 0
        for path in segments:
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue
            total += max(0, size - offsets.get(f"{layout.SEGMENTS}/{path.name}", (0, None))[0])
        return total

    def _load_offsets(self) -> Offsets:
        ensure_schema(self.engine)
        with immediate_transaction(self.engine) as conn:
            offsets = read_offsets(conn, self.spool_id)
            present = {f"{p.parent.name}/{p.name}" for group in self.reader.files() for p in group}
            # Files removed after their last load, before their offsets were. Only when the
            # folder is really there: an unmounted spool must not make us forget offsets.
            orphans = [stream for stream in offsets if stream not in present]
            if not (self.folder / layout.SEGMENTS).is_dir():
                orphans = []
            if orphans:
                forget_offsets(conn, self.spool_id, orphans)
        return {k: v for k, v in offsets.items() if k not in orphans}

    def _tidy(self, done: list[Path], offsets: Offsets) -> None:
        if not done:
            return
        for path in done:
            path.unlink(missing_ok=True)
            self.reader.forget(path)
        streams = [f"{p.parent.name}/{p.name}" for p in done]
        with immediate_transaction(self.engine) as conn:
            forget_offsets(conn, self.spool_id, streams)
        for stream in streams:
            offsets.pop(stream, None)

    def _skip_refused(self, work: Pass, rows: int, exc: Exception) -> None:
        logger.error("log store refused a record, dropping %d row(s): %s", rows, describe(exc))
        skip = Pass(Assembler(self.engine.dialect))
        skip.assembler.batch.offsets = work.offsets
        skip.assembler.batch.deltas.update(c.dropped_deltas(rows))
        with immediate_transaction(self.engine) as conn:
            load(conn, skip.assembler.batch, self.spool_id, datetime.now(UTC))
            self.offsets = read_offsets(conn, self.spool_id)

    def _outage(self, exc: BaseException) -> None:
        if self._outage_since is None:
            self._outage_since = time.monotonic()
            logger.warning(
                "log store unavailable, keeping %d bytes spooled and retrying every %.1f s: %s",
                self.backlog_bytes(),
                self.retry_seconds,
                describe(exc),
            )
        self.stop.wait(self.retry_seconds)

    def _spool_empty(self) -> bool:
        for part in (layout.SEGMENTS, layout.DROPS):
            try:
                if any((self.folder / part).iterdir()):
                    return False
            except FileNotFoundError:
                continue
        return True


if __name__ == "__main__":
    import sys

    from mlproject.logstore.shipper_cli import main

    sys.exit(main())
