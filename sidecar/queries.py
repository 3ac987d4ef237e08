"""The read side: every query the views answer from the log store (cosmicpython's views.py).

Each function takes an open connection and returns JSON-ready values. Each reads a bounded
slice (the latest N rows through an index, one row by key, or the small ``counters``
table), so a request costs the same however long the log grows. Live accuracy lives in
``sidecar.monitoring.accuracy``, where the metrics need it too; writes are elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from mlproject.config import FEATURES
from mlproject.logstore import contract, read_counters, tables

from .timeutil import isoformat

# The newest refusal matters only while no switch followed it; look this far back for one.
REFUSAL_LOOKBACK = 20


# ---- predictions ------------------------------------------------------------------------


def prediction_page(
    conn: sa.Connection,
    *,
    limit: int,
    model_version: str | None = None,
    prediction: str | None = None,
    since: datetime | None = None,
    role: str | None = None,
    before_seq: int | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """Up to ``limit`` predictions newest first with their labels, and the ``seq`` to
    continue before (None on the last page)."""
    p, f = tables.predictions, tables.feedback
    # Two steps: the page's seqs first, from the filters alone (a filter's own (column,
    # seq) index answers it without touching the rows: PostgreSQL then has no reason to walk
    # the whole primary key from the newest row looking for an old version's rows), then
    # those rows with their labels.
    query = sa.select(p.c.seq).order_by(p.c.seq.desc()).limit(limit + 1)
    if model_version is not None:
        query = query.where(p.c.model_version == model_version)
    if prediction is not None:
        query = query.where(p.c.prediction == prediction)
    if since is not None:
        query = query.where(p.c.created_at >= since)
    if role == contract.CHAMPION:  # rows from before the trial (role NULL) were the champion's
        query = query.where(sa.or_(p.c.role == role, p.c.role.is_(None)))
    elif role is not None:
        query = query.where(p.c.role == role)
    if before_seq is not None:
        query = query.where(p.c.seq < before_seq)
    page_seqs = query.offset(0).scalar_subquery()  # offset: PostgreSQL keeps it a subquery
    rows = conn.execute(
        sa.select(p, f.c.label.label("feedback_label"), f.c.updated_at.label("labelled_at"))
        .select_from(p.outerjoin(f, f.c.prediction_id == p.c.prediction_id))
        .where(p.c.seq.in_(page_seqs))
        .order_by(p.c.seq.desc())
    ).all()
    page = rows[:limit]
    next_seq = page[-1].seq if len(rows) > limit else None
    return [_prediction(row) for row in page], next_seq


def _prediction(row: sa.Row) -> dict[str, Any]:
    item: dict[str, Any] = {
        "prediction_id": row.prediction_id,
        "created_at": isoformat(row.created_at),
        "model_name": row.model_name,
        "model_version": row.model_version,
        "run_id": row.run_id,
        "request_id": row.request_id,
        "role": row.role or contract.CHAMPION,
    }
    item.update({name: getattr(row, name) for name in FEATURES})
    item.update(
        {
            "prediction": row.prediction,
            "class_index": row.class_index,
            "probabilities": row.probabilities,
            "latency_seconds": row.latency_seconds,
            "label": row.feedback_label,
            "labelled_at": isoformat(row.labelled_at),
        }
    )
    return item


def latest_predictions(conn: sa.Connection, window: int) -> list[sa.Row]:
    """The latest ``window`` predictions' time, version, class and latency, oldest first."""
    p = tables.predictions
    query = (
        sa.select(p.c.created_at, p.c.model_version, p.c.prediction, p.c.latency_seconds)
        .order_by(p.c.seq.desc())
        .limit(window)
    )
    return list(reversed(conn.execute(query).all()))


def log_totals(conn: sa.Connection) -> dict[str, Any]:
    """Predictions served (the counter, so rows pruned later still count), the time of the
    latest one, and how many predictions have a label."""
    served = sum(
        value for metric, _, value in read_counters(conn) if metric == contract.PREDICTIONS_TOTAL
    )
    last_at = conn.execute(sa.select(sa.func.max(tables.predictions.c.created_at))).scalar()
    return {
        "predictions_total": int(served),
        "last_prediction_at": isoformat(last_at),
        "labelled_total": labelled_total(conn),
    }


def labelled_total(conn: sa.Connection) -> int:
    """Predictions with a true label, all time: the count the store's triggers keep in
    ``row_counts`` (one row), counted afresh only when that row is missing (emptied)."""
    kept = conn.execute(
        sa.select(tables.row_counts.c.row_count).where(
            tables.row_counts.c.table_name == tables.feedback.name
        )
    ).scalar()
    if kept is not None:
        return int(kept)
    return conn.execute(sa.select(sa.func.count()).select_from(tables.feedback)).scalar_one()


# ---- rejections ---------------------------------------------------------------------------


def rejections_by_reason(conn: sa.Connection) -> list[dict[str, Any]]:
    """Rejections counted by reason, all time (from the counters), most frequent first."""
    counted = [
        (str(labels.get("reason", "")), int(value))
        for metric, labels, value in read_counters(conn)
        if metric == contract.ERRORS_TOTAL
    ]
    counted.sort(key=lambda item: (-item[1], item[0]))
    return [{"reason": reason, "count": count} for reason, count in counted]


def latest_rejections(conn: sa.Connection, limit: int) -> list[dict[str, Any]]:
    """The latest ``limit`` rejections, newest first, messages cut to 300 characters."""
    r = tables.rejections
    rows = conn.execute(sa.select(r).order_by(r.c.seq.desc()).limit(limit)).all()
    return [
        {
            "created_at": isoformat(row.created_at),
            "model_version": row.model_version,
            "reason": row.reason,
            "field": row.field,
            "row_index": row.row_index,
            "message": row.message[:300],
        }
        for row in rows
    ]


# ---- model switches -----------------------------------------------------------------------


def switches(conn: sa.Connection, limit: int, outcome: str | None = None) -> list[dict[str, Any]]:
    """Switches, refusals and restarts, newest first (only ``outcome`` ones if given)."""
    s = tables.model_switches
    query = sa.select(s).order_by(s.c.seq.desc()).limit(limit)
    if outcome:
        query = query.where(s.c.outcome == outcome)
    return [switch_as_dict(row) for row in conn.execute(query).mappings()]


def serving_at(conn: sa.Connection, moment: datetime) -> dict[str, Any] | None:
    """The switch or restart that put the version serving at ``moment`` in place."""
    s = tables.model_switches
    query = (
        sa.select(s)
        .where(s.c.outcome.in_(contract.SERVING_OUTCOMES), s.c.switched_at <= moment)
        .order_by(s.c.switched_at.desc(), s.c.seq.desc())
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else switch_as_dict(row)


def latest_refusal(conn: sa.Connection) -> dict[str, Any] | None:
    """The newest refusal, if it is newer than the newest switch (i.e. still relevant)."""
    s = tables.model_switches
    newest = conn.execute(sa.select(s).order_by(s.c.seq.desc()).limit(REFUSAL_LOOKBACK))
    for row in newest.mappings():
        if row["outcome"] == contract.SWITCHED:
            return None
        if row["outcome"] == contract.REFUSED:
            return switch_as_dict(row)
    return None


def latest_event(conn: sa.Connection) -> dict[str, Any] | None:
    """The newest switch, refusal or restart, or None before the first."""
    s = tables.model_switches
    row = conn.execute(sa.select(s).order_by(s.c.seq.desc()).limit(1)).mappings().first()
    return switch_as_dict(row) if row is not None else None


def switch_as_dict(row: Any) -> dict[str, Any]:
    """A ``model_switches`` row as JSON."""
    return {
        "switched_at": isoformat(row["switched_at"]),
        "model_name": row["model_name"],
        "from_version": row["from_version"],
        "to_version": row["to_version"],
        "outcome": row["outcome"],
        "reason": row["reason"],
    }


# ---- retrain jobs -------------------------------------------------------------------------


def latest_job(conn: sa.Connection) -> dict[str, Any] | None:
    """The id and state of the newest retrain job, or None before the first."""
    j = tables.retrain_jobs
    row = conn.execute(
        sa.select(j.c.job_id, j.c.state).order_by(j.c.created_at.desc()).limit(1)
    ).first()
    return {"job_id": row.job_id, "state": row.state} if row else None
