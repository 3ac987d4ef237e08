"""The scorer's reads and writes in the log store: new rows, shadow rows, the cursor.

Exactly-once comes from one transaction per batch: the shadow rows and the cursor move
are committed together, and the cursor only moves from the value the batch was read
after (a compare-and-set), so two scorers racing or a batch replayed after a crash never
store a row twice or pass one by. The insert also ignores a shadow row already present
(same prediction and version), so a replayed batch is harmless even on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from mlproject.config import FEATURES
from mlproject.logstore import immediate_transaction, tables

from .trial import Trial


@dataclass(frozen=True)
class LoggedRow:
    """A logged prediction as the scorer needs it."""

    seq: int
    prediction_id: str
    model_version: str
    features: tuple[float, ...]


def start_cursor(engine: sa.Engine, trial: Trial) -> int:
    """The trial's cursor, created at the newest row of the model when the trial is new.

    A new trial covers only traffic logged after it started: rows from before it were
    answered while no challenger was on trial, and scoring a backlog of unknown size
    would delay the trial's own rows.
    """
    c, p = tables.shadow_cursors, tables.predictions
    with immediate_transaction(engine) as conn:
        found = conn.execute(sa.select(c.c.last_seq).where(c.c.trial == trial.key)).scalar()
        if found is not None:
            return int(found)
        newest = conn.execute(
            sa.select(sa.func.coalesce(sa.func.max(p.c.seq), 0)).where(
                p.c.model_name == trial.model_name
            )
        ).scalar_one()
        conn.execute(sa.insert(c).values(trial=trial.key, last_seq=int(newest), updated_at=_now()))
        return int(newest)


def newest_seq(engine: sa.Engine) -> int:
    """The highest ``seq`` in the log (0 when empty)."""
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(tables.predictions.c.seq))).scalar() or 0)


def read_batch(
    engine: sa.Engine, model_name: str, after: int, up_to: int, limit: int
) -> list[LoggedRow]:
    """Up to ``limit`` rows of ``model_name`` with ``after < seq <= up_to``, by seq."""
    p = tables.predictions
    query = (
        sa.select(p.c.seq, p.c.prediction_id, p.c.model_version, *(p.c[f] for f in FEATURES))
        .where(p.c.seq > after, p.c.seq <= up_to, p.c.model_name == model_name)
        .order_by(p.c.seq)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [
            LoggedRow(row.seq, row.prediction_id, row.model_version, tuple(row[3:]))
            for row in conn.execute(query)
        ]


def commit_batch(
    engine: sa.Engine, trial: Trial, after: int, new_cursor: int, shadows: list[dict[str, Any]]
) -> bool:
    """Store ``shadows`` and move the cursor from ``after`` to ``new_cursor``, atomically.

    Returns False (and stores nothing) when the cursor is no longer at ``after``: another
    scorer got there first, and this batch is dropped for the caller to re-read.
    """
    c = tables.shadow_cursors
    with immediate_transaction(engine) as conn:
        moved = conn.execute(
            sa.update(c)
            .where(c.c.trial == trial.key, c.c.last_seq == after)
            .values(last_seq=new_cursor, updated_at=_now())
        )
        if moved.rowcount != 1:
            conn.rollback()
            return False
        if shadows:
            conn.execute(_insert_ignoring_present(conn), shadows)
    return True


def lag_rows(conn: sa.Connection, model_name: str, cursor: int) -> int:
    """Rows of ``model_name`` logged after ``cursor``: what the trial has yet to score."""
    p = tables.predictions
    return int(
        conn.execute(
            sa.select(sa.func.count()).where(p.c.seq > cursor, p.c.model_name == model_name)
        ).scalar_one()
    )


def _insert_ignoring_present(conn: sa.Connection) -> sa.Insert:
    table = tables.shadow_predictions
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return sa.insert(table)  # other databases: the compare-and-set alone guards replays


def _now() -> datetime:
    return datetime.now(UTC)
