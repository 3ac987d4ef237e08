"""One writer batch: its rows and counter deltas, committed in a single transaction."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from mlproject.logstore import counters as c
from mlproject.logstore.engine import immediate_transaction
from mlproject.logstore.records import PredictionRecord, RejectionRecord
from mlproject.logstore.tables import predictions, rejections

logger = logging.getLogger(__name__)

# Bound on bound parameters per "IN (...)": old SQLite builds allow only 999.
_ID_CHUNK = 500


@dataclass
class Item:
    """What one submit call queued: a request's predictions, or one rejection."""

    predictions: Sequence[PredictionRecord] = ()
    latency_seconds: float | None = None
    rejection: RejectionRecord | None = None
    seq: int = 0
    queued_at: float = 0.0
    rows: int = field(init=False)

    def __post_init__(self) -> None:
        self.rows = len(self.predictions) + (1 if self.rejection is not None else 0)


def commit_batch(
    engine: sa.Engine,
    items: Sequence[Item],
    extra_deltas: Mapping[tuple[str, str], float],
    *,
    is_retry: bool,
) -> int:
    """Insert ``items`` and their counters in one transaction; returns rows inserted.

    On a retry after an error whose outcome is unknown (the connection broke during COMMIT),
    a batch whose prediction ids are all present already committed, and is skipped whole.
    """
    prediction_rows: dict[str, dict] = {}
    rejection_rows: list[dict] = []
    deltas: Counter = Counter(extra_deltas)
    for item in items:
        for record in item.predictions:
            # setdefault: an id submitted twice is logged (and counted) once.
            prediction_rows.setdefault(record.prediction_id, record.as_row())
        if item.latency_seconds is not None:
            deltas.update(c.latency_deltas(item.latency_seconds))
        if item.rejection is not None:
            rejection_rows.append(item.rejection.as_row())
            deltas.update(c.rejection_deltas(item.rejection.reason))

    with immediate_transaction(engine) as conn:
        existing = _existing_ids(conn, list(prediction_rows))
        if is_retry and prediction_rows and len(existing) == len(prediction_rows):
            logger.info("batch of %d rows was already committed; skipping", len(prediction_rows))
            return 0
        new_rows = [row for pid, row in prediction_rows.items() if pid not in existing]
        if existing:
            logger.warning("skipped %d prediction ids already in the log", len(existing))
        if new_rows:
            conn.execute(sa.insert(predictions), new_rows)
            for row in new_rows:
                deltas.update(c.prediction_deltas(row["model_version"], [row["prediction"]]))
        if rejection_rows:
            conn.execute(sa.insert(rejections), rejection_rows)
        c.increment_counters(conn, deltas)
    return len(new_rows) + len(rejection_rows)


def _existing_ids(conn: sa.Connection, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = ids[start : start + _ID_CHUNK]
        query = sa.select(predictions.c.prediction_id).where(predictions.c.prediction_id.in_(chunk))
        found.update(conn.execute(query).scalars())
    return found
