"""``GET /logs``: the prediction log, newest first, filtered, in keyset-paged pages."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, jsonify, request

from mlproject.config import CLASSES, FEATURES
from mlproject.logstore import tables

from .. import params
from ..state import get_state
from ..timeutil import isoformat

bp = Blueprint("logs", __name__)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
ALLOWED = ("model_version", "prediction", "since", "limit", "cursor")


@bp.get("/logs")
def list_logs():
    """One page of predictions, newest first; ``next_cursor`` fetches the next one."""
    args = params.query_args(request.args, ALLOWED)
    model_version = params.short_text("model_version", args.get("model_version"), 50)
    prediction = params.one_of("prediction", args.get("prediction"), CLASSES)
    since = params.timestamp("since", args.get("since"))
    limit = params.bounded_int("limit", args.get("limit"), 1, MAX_LIMIT, DEFAULT_LIMIT)
    before_seq = params.decode_cursor("cursor", args.get("cursor"))

    p, f = tables.predictions, tables.feedback
    query = (
        sa.select(p, f.c.label.label("feedback_label"), f.c.updated_at.label("labelled_at"))
        .select_from(p.outerjoin(f, f.c.prediction_id == p.c.prediction_id))
        .order_by(p.c.seq.desc())
        .limit(limit + 1)
    )
    if model_version is not None:
        query = query.where(p.c.model_version == model_version)
    if prediction is not None:
        query = query.where(p.c.prediction == prediction)
    if since is not None:
        query = query.where(p.c.created_at >= since)
    if before_seq is not None:
        query = query.where(p.c.seq < before_seq)

    with get_state().engine.connect() as conn:
        rows = conn.execute(query).all()
    page = rows[:limit]
    next_cursor = params.encode_cursor(page[-1].seq) if len(rows) > limit else None
    return jsonify({"items": [_item(row) for row in page], "next_cursor": next_cursor})


def _item(row: sa.Row) -> dict[str, Any]:
    item: dict[str, Any] = {
        "prediction_id": row.prediction_id,
        "created_at": isoformat(row.created_at),
        "model_name": row.model_name,
        "model_version": row.model_version,
        "run_id": row.run_id,
        "request_id": row.request_id,
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
