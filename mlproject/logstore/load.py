"""Load one batch into the store in one transaction: rows, counters, offsets, feedback.

The fast path is one bulk statement per table: ``executemany`` of plain tuples on SQLite,
``COPY ... FROM STDIN`` on PostgreSQL; no ORM objects, no per-row SQLAlchemy processing.
The offsets committed with the rows are what make shipping exactly-once; should a row
be there already all the same (a store restored from a backup, a spool copied), the insert
fails inside a savepoint and the batch is loaded again without the rows already present,
and counted only for the rows really added.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from mlproject.logstore import counters as c
from mlproject.logstore.contract import ERRORS_TOTAL
from mlproject.logstore.feedback import match_pending
from mlproject.logstore.tables import predictions, rejections, spool_offsets

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)

PREDICTION_COLUMNS: tuple[str, ...] = (
    "prediction_id",
    "created_at",
    "model_name",
    "model_version",
    "run_id",
    "request_id",
    "sepal_length",
    "sepal_width",
    "petal_length",
    "petal_width",
    "prediction",
    "class_index",
    "probabilities",  # JSON text
    "latency_seconds",
    "role",  # champion or challenger (contract.ROLES)
)
_ID, _CREATED, _VERSION, _LABEL = 0, 1, 3, 10
REJECTION_COLUMNS: tuple[str, ...] = (
    "rejection_id",
    "created_at",
    "model_name",
    "model_version",
    "request_id",
    "reason",
    "field",
    "row_index",
    "message",
)
_ID_CHUNK = 500  # bound parameters per IN (...): old SQLite builds allow only 999

# A row as the driver takes it, its values in PREDICTION_COLUMNS or REJECTION_COLUMNS order.
Row = tuple[Any, ...]
# Each spool stream's committed (position, detail); detail is JSON (a tally's slots, or None).
Offsets = dict[str, tuple[int, Any]]


@dataclass
class Batch:
    """What one transaction stores. Rows are tuples in the column orders above."""

    predictions: list[Row] = field(default_factory=list)
    prediction_deltas: c.Deltas = field(default_factory=Counter)
    rejections: list[Row] = field(default_factory=list)
    deltas: c.Deltas = field(default_factory=Counter)  # latency, errors, drops
    offsets: Offsets = field(default_factory=dict)  # stream -> (pos, detail)

    @property
    def rows(self) -> int:
        return len(self.predictions) + len(self.rejections)


@dataclass(frozen=True)
class Loaded:
    """What a load added: rows inserted, rows already present, pending labels matched."""

    predictions: int
    rejections: int
    duplicates: int
    feedback_matched: int


def load(conn: sa.Connection, batch: Batch, spool_id: str | None, now: datetime) -> Loaded:
    """Store ``batch`` on ``conn``, inside the caller's transaction."""
    deltas = Counter(batch.deltas)
    kept, prediction_deltas = batch.predictions, batch.prediction_deltas
    if kept and not _try_insert(conn, _insert_predictions, kept):
        kept = _without_present(conn, predictions.c.prediction_id, kept, _ID)
        prediction_deltas = Counter()
        for row in kept:
            prediction_deltas.update(c.prediction_deltas(row[_VERSION], [row[_LABEL]]))
        if kept:
            _insert_predictions(conn, kept)
    deltas.update(prediction_deltas)
    kept_rejections = batch.rejections
    if kept_rejections and not _try_insert(conn, _insert_rejections, kept_rejections):
        kept_rejections = _without_present(conn, rejections.c.rejection_id, kept_rejections, 0)
        if kept_rejections:
            _insert_rejections(conn, kept_rejections)
        # errors_total is counted per stored rejection only
        deltas = _recount_errors(deltas, batch.rejections, kept_rejections)
    matched = match_pending(conn, now) if kept else 0
    c.increment_counters(conn, deltas)
    if spool_id is not None and batch.offsets:
        _save_offsets(conn, spool_id, batch.offsets, now)
    duplicates = len(batch.predictions) - len(kept) + len(batch.rejections) - len(kept_rejections)
    if duplicates:
        logger.warning("skipped %d rows already in the log store", duplicates)
    return Loaded(len(kept), len(kept_rejections), duplicates, matched)


def read_offsets(conn: sa.Connection, spool_id: str) -> Offsets:
    """Every committed (position, detail) of the spool ``spool_id``, by stream."""
    query = sa.select(spool_offsets.c.stream, spool_offsets.c.position, spool_offsets.c.detail)
    rows = conn.execute(query.where(spool_offsets.c.spool_id == spool_id))
    return {stream: (int(position), detail) for stream, position, detail in rows}


def forget_offsets(conn: sa.Connection, spool_id: str, streams: list[str]) -> None:
    """Drop the offsets of files that are gone from the spool."""
    for start in range(0, len(streams), _ID_CHUNK):
        chunk = streams[start : start + _ID_CHUNK]
        conn.execute(
            sa.delete(spool_offsets).where(
                spool_offsets.c.spool_id == spool_id, spool_offsets.c.stream.in_(chunk)
            )
        )


def _try_insert(
    conn: sa.Connection, insert: Callable[[sa.Connection, list[Row]], None], rows: list[Row]
) -> bool:
    try:
        with conn.begin_nested():
            insert(conn, rows)
    except IntegrityError:
        return False
    return True


def _insert_predictions(conn: sa.Connection, rows: list[Row]) -> None:
    if conn.dialect.name == "postgresql":
        _copy(conn, "predictions", PREDICTION_COLUMNS, rows)
    else:
        _executemany(conn, "predictions", PREDICTION_COLUMNS, rows)


def _insert_rejections(conn: sa.Connection, rows: list[Row]) -> None:
    _executemany(conn, "rejections", REJECTION_COLUMNS, rows)


def _executemany(
    conn: sa.Connection, table: str, columns: tuple[str, ...], rows: list[Row]
) -> None:
    marker = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
    names = ", ".join(columns)
    marks = ", ".join([marker] * len(columns))
    # Table and column names come from our own Table objects, never from input.
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # nosec B608
    conn.exec_driver_sql(sql, rows)


def _copy(conn: sa.Connection, table: str, columns: tuple[str, ...], rows: list[Row]) -> None:
    # SQLAlchemy types the driver's connection as Any; on PostgreSQL it is psycopg 3's, as
    # the store's URL names it (postgresql+psycopg://, README): its COPY is what this uses.
    driver = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _without_present(
    conn: sa.Connection, column: sa.Column[str], rows: list[Row], key: int
) -> list[Row]:
    ids = [row[key] for row in rows]
    present: set[str] = set()
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = ids[start : start + _ID_CHUNK]
        present.update(conn.execute(sa.select(column).where(column.in_(chunk))).scalars())
    seen: set[str] = set()
    kept: list[Row] = []
    for row in rows:
        if row[key] not in present and row[key] not in seen:
            seen.add(row[key])
            kept.append(row)
    return kept


def _recount_errors(deltas: c.Deltas, offered: list[Row], kept: list[Row]) -> c.Deltas:
    out = Counter(deltas)
    kept_ids = {row[0] for row in kept}
    for row in offered:
        if row[0] not in kept_ids:
            out[(ERRORS_TOTAL, c.labels_key({"reason": row[5]}))] -= 1
    return out


def _save_offsets(
    conn: sa.Connection, spool_id: str, offsets: Mapping[str, tuple[int, Any]], now: datetime
) -> None:
    rows = [
        {
            "spool_id": spool_id,
            "stream": stream,
            "position": pos,
            "detail": detail,
            "updated_at": now,
        }
        for stream, (pos, detail) in sorted(offsets.items())
    ]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(spool_offsets).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[spool_offsets.c.spool_id, spool_offsets.c.stream],
        set_={
            "position": stmt.excluded.position,
            "detail": stmt.excluded.detail,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    conn.execute(stmt)
