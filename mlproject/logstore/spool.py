"""The request path's only logging step: append one frame to a local segment file.

``SpoolWriter.append`` is one ``os.write`` of bytes already built (see frames.py) under a
lock; it is called before the response leaves, so an answered prediction is in the page
cache and survives a kill -9 of this process. With ``fsync`` it also waits for the disk
(``fdatasync``) and survives an OS crash. No SQL, no thread, no per-row object.

Past ``max_bytes`` of segments in the spool (the store is down and the shipper cannot
drain) or on a write error (disk full), the request is not spooled: it is counted in this
writer's drop tally (see tally.py), which the shipper adds to
``iris_prediction_log_dropped_total``. The bound is checked against a directory scan at
most once a second, so the spool can pass it by about a second of traffic per writer.
A writer over the bound (or failing to write) closes its live segment, so that the shipper,
once it has loaded it, can delete it and the space counts as free again.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from mlproject.logstore import frames, layout
from mlproject.logstore.tally import Tally

logger = logging.getLogger(__name__)

SEGMENT_BYTES = 16 << 20
_RESCAN_SECONDS = 1.0
_REOPEN_SECONDS = 1.0
_WARN_EVERY_SECONDS = 30.0


class SpoolWriter:
    """Appends frames for one process to its own segments in a spool folder."""

    def __init__(
        self,
        folder: Path,
        context: dict[str, Any],
        *,
        max_bytes: int,
        segment_bytes: int = SEGMENT_BYTES,
        fsync: bool = False,
    ) -> None:
        self.folder = Path(folder)
        self._context = frames.context_frame(context)
        self._max_bytes = max_bytes
        self._segment_bytes = segment_bytes
        self._fsync = fsync
        self._lock = threading.Lock()
        self._token = ""  # nosec B105 # a segment-name token, not a secret
        self._fd: int | None = None
        self._segment_size = 0
        self._segment_index = 0
        self._tally: Tally | None = None
        self._spool_bytes = 0  # bytes in segments at the last scan + ours since
        self._scanned_at = 0.0
        self._retry_at = 0.0
        self.dropped = 0
        self._dropping_since: float | None = None
        self._warned_at = 0.0
        os.register_at_fork(after_in_child=self._forget_after_fork)

    def open(self) -> None:
        """Make the folder, this writer's tally and first segment; raises OSError."""
        with self._lock:
            self._open_locked()

    def append(self, frame: bytes, rows: int, latency: float | None = None) -> bool:
        """Append ``frame`` (``rows`` rows); False when it was dropped (and counted)."""
        with self._lock:
            if self._fd is None and not self._reopen():
                return self._drop(rows, latency, "spool folder not writable")
            if self._spool_bytes + len(frame) > self._max_bytes and self._over_bound(frame):
                return self._drop(rows, latency, "spool full")
            if self._segment_size + len(frame) > self._segment_bytes:
                self._rotate()
            if self._fd is None:
                return self._drop(rows, latency, "spool folder not writable")
            try:
                written = os.write(self._fd, frame)
                if written != len(frame):
                    raise OSError(f"short write ({written} of {len(frame)} bytes)")
                if self._fsync:
                    os.fdatasync(self._fd)
            except OSError as exc:
                self._undo_partial_write()
                self._hand_over_after_failure()
                return self._drop(rows, latency, f"write failed: {exc}")
            self._segment_size += len(frame)
            self._spool_bytes += len(frame)
            if self._dropping_since is not None:
                logger.warning("prediction log spool accepting again (%d dropped)", self.dropped)
                self._dropping_since = None
            return True

    def close(self) -> None:
        """Release this writer's files (the shipper ships and removes them)."""
        with self._lock:
            self._close_segment()
            if self._tally is not None:
                os.close(self._tally.fd)
                self._tally = None

    def _open_locked(self) -> None:
        layout.prepare_folders(self.folder)
        self._token = f"{time.time_ns():020d}-{os.getpid()}-{secrets.token_hex(6)}"
        if self._tally is None:
            name = self._token + layout.TALLY_SUFFIX
            fd, _ = layout.create_locked(self.folder / layout.DROPS, name, append=False)
            self._tally = Tally(fd)
        self._new_segment()
        self._scan()

    def _new_segment(self) -> None:
        self._segment_index += 1
        name = f"{self._token}-{self._segment_index:06d}{layout.SEGMENT_SUFFIX}"
        self._fd, _ = layout.create_locked(self.folder / layout.SEGMENTS, name, self._context)
        self._segment_size = len(self._context)
        self._spool_bytes += len(self._context)

    def _rotate(self) -> None:
        self._close_segment()
        try:
            self._new_segment()
        except OSError as exc:
            logger.error("cannot start a new spool segment in %s: %s", self.folder, exc)

    def _close_segment(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the lock: the shipper may now finish the segment
            self._fd = None

    def _reopen(self) -> bool:
        now = time.monotonic()
        if now < self._retry_at:
            return False
        self._retry_at = now + _REOPEN_SECONDS
        try:
            self._open_locked()
        except OSError as exc:
            logger.debug("spool still not writable: %s", exc)
            return False
        return True

    def _over_bound(self, frame: bytes) -> bool:
        now = time.monotonic()
        if now - self._scanned_at >= _RESCAN_SECONDS:
            self._scan()
            if self._spool_bytes + len(frame) > self._max_bytes and self._segment_has_frames():
                # Our live segment counts in full even once it is shipped, and the shipper
                # deletes a segment only after its writer lets go: hand it over, so that a
                # later scan sees what is really left (else a bound smaller than a segment
                # kept dropping after the store caught up). Once per scan at most, and only
                # while frames were written since: dropping writes none.
                self._rotate()
        return self._spool_bytes + len(frame) > self._max_bytes

    def _segment_has_frames(self) -> bool:
        return self._fd is not None and self._segment_size > len(self._context)

    def _hand_over_after_failure(self) -> None:
        # A full disk frees space only when shipped segments are deleted, and ours is
        # deleted only once we close it; a new one is tried after _REOPEN_SECONDS.
        if self._segment_has_frames():
            self._close_segment()
            self._retry_at = time.monotonic() + _REOPEN_SECONDS

    def _scan(self) -> None:
        total = 0
        try:
            with os.scandir(self.folder / layout.SEGMENTS) as entries:
                for entry in entries:
                    try:
                        total += entry.stat().st_size
                    except FileNotFoundError:
                        continue  # shipped and removed while we looked
        except OSError:
            return
        self._spool_bytes, self._scanned_at = total, time.monotonic()

    def _undo_partial_write(self) -> None:
        # A torn frame in the middle would hide every frame after it: cut it off, or, if
        # even that fails, leave the segment (its tail is torn) and start a new one later.
        fd = self._fd
        if fd is None:  # not reached: called right after a write on the open segment
            return
        try:
            os.ftruncate(fd, self._segment_size)
        except OSError:
            self._close_segment()

    def _drop(self, rows: int, latency: float | None, why: str) -> bool:
        self.dropped += rows
        if self._tally is not None:
            try:
                self._tally.add(rows, latency)
            except OSError as exc:
                logger.error("prediction log: cannot count %d dropped rows: %s", rows, exc)
        now = time.monotonic()
        if self._dropping_since is None or now - self._warned_at >= _WARN_EVERY_SECONDS:
            self._dropping_since = self._dropping_since or now
            self._warned_at = now
            logger.warning(
                "prediction log %s: dropping and counting (%d rows dropped by this process)",
                why,
                self.dropped,
            )
        return False

    def _forget_after_fork(self) -> None:
        # The child shares our descriptors (and locks): it must open files of its own.
        self._lock = threading.Lock()
        for fd in (self._fd, self._tally.fd if self._tally else None):
            if fd is not None:
                os.close(fd)  # the parent's lock stays: it still holds its own descriptor
        self._fd, self._tally, self._retry_at = None, None, 0.0
