"""True labels for logged predictions, including labels that arrive before the prediction.

A prediction reaches the store a moment after it was answered (spool, then shipper), so a
client that labels it at once may find no row yet. ``record_feedback`` then keeps the label
in ``pending_feedback`` (PENDING, the sidecar's 202); the shipper moves it into
``feedback`` in the transaction that stores the prediction (``match_pending``). Labels still
pending after the window are dropped and counted in ``iris_feedback_unmatched_total``
(``expire_pending``). An id that is provably never coming is UNKNOWN (404): a UUIDv7 made
longer ago than the window (or further than the window in the future).

Races: on SQLite every writer transaction holds the database's write lock from its start
(BEGIN IMMEDIATE). On PostgreSQL, ``record_feedback`` and ``match_pending`` take the same
transaction-scoped advisory lock before they look, so a label is never left pending next
to its stored prediction.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from mlproject.logstore import counters as c
from mlproject.logstore.contract import FEEDBACK_TOTAL, FEEDBACK_UNMATCHED_TOTAL
from mlproject.logstore.ids import uuid7_time
from mlproject.logstore.tables import feedback, pending_feedback, predictions

_PG_FEEDBACK_LOCK = 0x1215_0C0D_FEED_0001
_CHUNK = 500


class Outcome(enum.Enum):
    """What ``record_feedback`` did with a label."""

    RECORDED = "recorded"  # stored against its prediction (sidecar: 201, or 200 if replaced)
    PENDING = "pending"  # held until the prediction arrives (202)
    UNKNOWN = "unknown"  # the prediction will never arrive (404)


@dataclass(frozen=True)
class FeedbackResult:
    """The outcome, and for RECORDED the prediction it labels and any label it replaced."""

    outcome: Outcome
    prediction_id: str
    label: str
    prediction: str | None = None
    model_version: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    replaced_label: str | None = None


def record_feedback(
    conn: sa.Connection, prediction_id: str, label: str, now: datetime, window: float
) -> FeedbackResult:
    """Record ``label`` for ``prediction_id`` inside the caller's write transaction.

    Args:
        conn: a connection in a transaction that may write (``immediate_transaction``).
        prediction_id: a canonical UUID string (the caller validated it).
        label: a class name (the caller validated it).
        now: timezone-aware current time.
        window: seconds a label may wait for its prediction.
    """
    _serialise_with_shipper(conn)
    p, f = predictions, feedback
    predicted = conn.execute(
        sa.select(p.c.prediction, p.c.model_version).where(p.c.prediction_id == prediction_id)
    ).first()
    if predicted is None:
        made_at = uuid7_time(prediction_id)
        if made_at is not None and abs(now.timestamp() - made_at) > window:
            return FeedbackResult(Outcome.UNKNOWN, prediction_id, label)
        _hold(conn, prediction_id, label, now)
        return FeedbackResult(Outcome.PENDING, prediction_id, label, created_at=now, updated_at=now)
    previous = conn.execute(
        sa.select(f.c.label, f.c.created_at).where(f.c.prediction_id == prediction_id)
    ).first()
    if previous is None:
        created_at = now
        conn.execute(
            f.insert().values(
                prediction_id=prediction_id, label=label, created_at=now, updated_at=now
            )
        )
    else:
        created_at = previous.created_at
        conn.execute(
            f.update().where(f.c.prediction_id == prediction_id).values(label=label, updated_at=now)
        )
    c.increment_counters(conn, {(FEEDBACK_TOTAL, c.labels_key({})): 1})
    return FeedbackResult(
        Outcome.RECORDED,
        prediction_id,
        label,
        prediction=predicted.prediction,
        model_version=predicted.model_version,
        created_at=created_at,
        updated_at=now,
        replaced_label=previous.label if previous is not None else None,
    )


def match_pending(conn: sa.Connection, now: datetime) -> int:
    """Move pending labels whose prediction is now stored into ``feedback``; how many."""
    if conn.execute(sa.select(pending_feedback.c.prediction_id).limit(1)).first() is None:
        return 0  # the usual case: nothing pending, no lock, no join
    _serialise_with_shipper(conn)
    pf = pending_feedback
    found = conn.execute(
        sa.select(pf.c.prediction_id, pf.c.label, pf.c.created_at).join(
            predictions, predictions.c.prediction_id == pf.c.prediction_id
        )
    ).all()
    if not found:
        return 0
    ids = [row.prediction_id for row in found]
    for start in range(0, len(ids), _CHUNK):
        chunk = set(ids[start : start + _CHUNK])
        conn.execute(feedback.delete().where(feedback.c.prediction_id.in_(chunk)))
        conn.execute(pf.delete().where(pf.c.prediction_id.in_(chunk)))
    conn.execute(
        feedback.insert(),
        [
            {
                "prediction_id": r.prediction_id,
                "label": r.label,
                "created_at": r.created_at,
                "updated_at": now,
            }
            for r in found
        ],
    )
    c.increment_counters(conn, {(FEEDBACK_TOTAL, c.labels_key({})): len(found)})
    return len(found)


def expire_pending(conn: sa.Connection, now: datetime, window: float) -> int:
    """Drop labels pending for longer than ``window`` seconds; count them; how many."""
    cutoff = now - timedelta(seconds=window)
    gone = conn.execute(
        pending_feedback.delete().where(pending_feedback.c.created_at < cutoff)
    ).rowcount
    if gone:
        c.increment_counters(conn, {(FEEDBACK_UNMATCHED_TOTAL, c.labels_key({})): gone})
    return gone


def is_prediction_id(text: str) -> bool:
    """True for a canonical UUID string (what the pyfunc hands out)."""
    try:
        return str(uuid.UUID(text)) == text
    except (ValueError, AttributeError, TypeError):
        return False


def _hold(conn: sa.Connection, prediction_id: str, label: str, now: datetime) -> None:
    pf = pending_feedback
    updated = conn.execute(
        pf.update().where(pf.c.prediction_id == prediction_id).values(label=label, updated_at=now)
    ).rowcount
    if not updated:
        conn.execute(
            pf.insert().values(
                prediction_id=prediction_id, label=label, created_at=now, updated_at=now
            )
        )


def _serialise_with_shipper(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_FEEDBACK_LOCK})
