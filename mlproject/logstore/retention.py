"""Retention: purge the oldest logged predictions and rejections, a bounded batch at a time.

Two limits, either or both (0 = off, the default: keep everything):

- ``IRIS_LOG_RETENTION_DAYS``: rows created more than this many days ago go;
- ``IRIS_LOG_RETENTION_ROWS``: only the newest this-many predictions stay.

A prediction's feedback and shadow predictions go with it (``ON DELETE CASCADE``; SQLite
enforces it because every store connection sets ``PRAGMA foreign_keys = ON``). Counters are
monotonic totals and are never purged, so ``iris_predictions_total`` keeps counting.

Each transaction deletes at most ``batch`` rows, oldest ``seq`` first (``seq`` is the
primary key, so "the oldest batch" is an index range scan whatever the table's size), and
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
    expired: sa.ColumnElement[bool] = sa.false()
    if retention.days:
        expired = sa.or_(expired, predictions.c.created_at < now - timedelta(days=retention.days))
    if retention.rows:
        newest = conn.execute(sa.select(sa.func.max(predictions.c.seq))).scalar()
        if newest is not None:
            expired = sa.or_(expired, predictions.c.seq <= newest - retention.rows)
    oldest = (
        sa.select(predictions.c.seq)
        .where(expired)
        .order_by(predictions.c.seq)
        .limit(retention.batch)
        .scalar_subquery()
    )
    gone = conn.execute(predictions.delete().where(predictions.c.seq.in_(oldest))).rowcount
    if retention.days:
        cutoff = now - timedelta(days=retention.days)
        old_rejections = (
            sa.select(rejections.c.seq)
            .where(rejections.c.created_at < cutoff)
            .order_by(rejections.c.seq)
            .limit(retention.batch)
            .scalar_subquery()
        )
        gone += conn.execute(
            rejections.delete().where(rejections.c.seq.in_(old_rejections))
        ).rowcount
    return gone
