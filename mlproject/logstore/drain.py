"""Has the spool reached the store? Compare each file's size with its committed offset."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from mlproject.logstore import layout, tally
from mlproject.logstore.load import read_offsets


def backlog(folder: Path, engine: sa.Engine) -> int | None:
    """Bytes (and uncounted drops, 1 each) spooled but not in the store; None if unreachable."""
    try:
        with engine.connect() as conn:
            offsets = read_offsets(conn, layout.spool_id(folder))
    except (SQLAlchemyError, OSError):
        return None
    total = 0
    for path in _files(folder, layout.SEGMENTS, layout.SEGMENT_SUFFIX):
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        total += max(0, size - offsets.get(f"{layout.SEGMENTS}/{path.name}", (0, None))[0])
    for path in _files(folder, layout.DROPS, layout.TALLY_SUFFIX):
        try:
            values = tally.read(path.read_bytes())
        except FileNotFoundError:
            continue
        shipped = offsets.get(f"{layout.DROPS}/{path.name}", (0, None))[1]
        if values is not None and values != (shipped or [0] * tally.SLOTS):
            total += 1
    return total


def wait_drained(folder: Path, engine: sa.Engine, timeout: float = 60.0) -> bool:
    """Wait until everything spooled in ``folder`` so far is in the store; False on timeout.

    For tests and operators: "is every prediction answered until now stored?". A torn
    tail that the shipper has not yet skipped counts as not drained.
    """
    deadline = time.monotonic() + timeout
    while True:
        if backlog(folder, engine) == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _files(folder: Path, part: str, suffix: str) -> list[Path]:
    try:
        return [p for p in (folder / part).iterdir() if p.name.endswith(suffix)]
    except FileNotFoundError:
        return []
