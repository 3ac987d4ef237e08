"""Retention: purge the oldest logged predictions and rejections, a bounded batch at a time.

Two limits, either or both (0 = off, the default: keep everything):

- ``IRIS_LOG_RETENTION_DAYS``: rows created more than this many days ago go;
- ``IRIS_LOG_RETENTION_ROWS``: only the newest this-many predictions stay.

A prediction's feedback and shadow predictions go with it (``ON DELETE CASCADE``; SQLite
enforces it because every store connection sets ``PRAGMA foreign_keys = ON``). Counters are
monotonic totals and are never purged, so ``iris_predictions_total`` keeps counting.

Each transaction deletes at most ``batch`` predictions (and as many rejections), the oldest
first: by ``created_at`` for the age limit, by ``seq`` for the row limit, each through its
index, so "the oldest batch" is one index range whatever the table's size, and
the shipper runs one purge step between its loads: on SQLite, where one writer holds the
lock at a time, ingest waits for one small delete, never for a whole purge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from mlproject.logstore.tables import predictions, rejections

DEFAULT_BATCH = 5_000


@dataclass(frozen=True)
class Retention:
    """How much of the log to keep; ``days`` and ``rows`` of 0 mean no limit."""

    days: float = 0.0
    rows: int = 0
    batch: int = DEFAULT_BATCH

    def __post_init__(self) -> None:
        if self.days < 0 or self.rows < 0 or self.batch <= 0:
            raise ValueError(
                "IRIS_LOG_RETENTION_DAYS and IRIS_LOG_RETENTION_ROWS must be >= 0 (0 = keep all)"
            )

    @property
    def enabled(self) -> bool:
        return bool(self.days or self.rows)


def purge_step(conn: sa.Connection, retention: Retention, now: datetime) -> int:
    """Delete at most ``retention.batch`` expired predictions and as many rejections.

    Returns how many rows went (0 when nothing is expired: the purge has caught up).
    """
    if not retention.enabled:
        return 0
    budget, gone = retention.batch, 0
    if retention.days:
        cutoff = now - timedelta(days=retention.days)
        # Oldest by time through the created_at index: ordered by seq, a purge with nothing
        # expired would walk the whole table looking for a match, under the write lock.
        gone += _delete_oldest(conn, predictions, predictions.c.created_at < cutoff, budget)
    if retention.rows and gone < budget:
        newest = conn.execute(sa.select(sa.func.max(predictions.c.seq))).scalar()
        if newest is not None:
            beyond = predictions.c.seq <= newest - retention.rows
            gone += _delete_oldest(conn, predictions, beyond, budget - gone, by=predictions.c.seq)
    if retention.days:
        gone += _delete_oldest(conn, rejections, rejections.c.created_at < cutoff, budget)
    return gone


def _delete_oldest(
    conn: sa.Connection,
    table: sa.Table,
    expired: sa.ColumnElement[bool],
    limit: int,
    by: sa.Column[int] | None = None,
) -> int:
    """Delete up to ``limit`` rows of ``table`` matching ``expired``, oldest first (by
    ``created_at`` unless ``by`` says otherwise): one index range, however large the table."""
    order = table.c.created_at if by is None else by
    oldest = sa.select(table.c.seq).where(expired).order_by(order).limit(limit).scalar_subquery()
    return conn.execute(table.delete().where(table.c.seq.in_(oldest))).rowcount
