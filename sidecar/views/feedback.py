"""``POST /feedback``: record the true label of a logged prediction.

A first label answers 201; a later label for the same prediction replaces it and answers
200 with ``replaced_label`` naming the label it replaced. Each accepted label adds one to
``iris_feedback_total`` in the same transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, jsonify, request

from mlproject.config import CLASSES
from mlproject.logstore import (
    contract,
    immediate_transaction,
    increment_counters,
    labels_key,
    tables,
)

from ..auth import token_required
from ..errors import InvalidParameter, NotFound
from ..state import get_state
from ..timeutil import isoformat, utcnow

bp = Blueprint("feedback", __name__)


@bp.post("/feedback")
@token_required
def record_feedback():
    """Store ``{"prediction_id", "label"}``; 201 when new, 200 when it replaced a label."""
    prediction_id, label = _parse(request.get_json(silent=True, force=True))
    engine = get_state().engine
    try:
        record = _store(engine, prediction_id, label)
    except sa.exc.IntegrityError:
        record = _store(engine, prediction_id, label)  # a concurrent first label won: replace it
    return jsonify(record), (200 if record["replaced_label"] is not None else 201)


def _parse(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict):
        raise InvalidParameter(
            'the body must be a JSON object {"prediction_id": "...", "label": "..."}'
        )
    unknown = sorted(set(body) - {"prediction_id", "label"})
    if unknown:
        raise InvalidParameter(f"unknown fields {unknown}; expected prediction_id and label")
    prediction_id, label = body.get("prediction_id"), body.get("label")
    try:
        prediction_id = str(uuid.UUID(prediction_id)) if isinstance(prediction_id, str) else None
    except ValueError:
        prediction_id = None
    if prediction_id is None:
        raise InvalidParameter(
            "prediction_id must be a prediction's UUID", extra={"parameter": "prediction_id"}
        )
    if label not in CLASSES:
        raise InvalidParameter(
            f"label must be one of {', '.join(CLASSES)}, got {label!r}",
            extra={"parameter": "label"},
        )
    return prediction_id, label


def _store(engine: sa.Engine, prediction_id: str, label: str) -> dict[str, Any]:
    p, f = tables.predictions, tables.feedback
    now = utcnow()
    with immediate_transaction(engine) as conn:
        predicted = conn.execute(
            sa.select(p.c.prediction, p.c.model_version).where(p.c.prediction_id == prediction_id)
        ).first()
        if predicted is None:
            raise NotFound(f"no prediction with id {prediction_id}")
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
                f.update()
                .where(f.c.prediction_id == prediction_id)
                .values(label=label, updated_at=now)
            )
        increment_counters(conn, {(contract.FEEDBACK_TOTAL, labels_key({})): 1})
    return {
        "prediction_id": prediction_id,
        "label": label,
        "prediction": predicted.prediction,
        "model_version": predicted.model_version,
        "correct": predicted.prediction == label,
        "created_at": isoformat(created_at),
        "updated_at": isoformat(now),
        "replaced_label": previous.label if previous is not None else None,
    }
