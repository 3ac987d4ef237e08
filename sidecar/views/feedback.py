"""``POST /feedback``: record the true label of a logged prediction.

201 for a first label, 200 (with ``replaced_label``) for a replacement, 202 while the
prediction is still on its way to the store (held, joined on arrival), 404 for an id that
can never arrive; see ``sidecar.labelling``.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, jsonify, request

from mlproject.config import CLASSES

from .. import params
from ..auth import token_required
from ..errors import InvalidParameter
from ..labelling import record_label
from ..state import get_state
from ..timeutil import utcnow

bp = Blueprint("feedback", __name__)

FIELDS = ("prediction_id", "label")


@bp.post("/feedback")
@token_required
def record_feedback():
    """Store ``{"prediction_id", "label"}``: 201 new, 200 replaced, 202 held as pending."""
    prediction_id, label = parse_feedback(request.get_json(silent=True, force=True))
    state = get_state()
    window = state.settings.project.feedback_window_seconds
    result = record_label(state.engine, prediction_id, label, utcnow(), window)
    return jsonify(result.as_dict()), result.status


def parse_feedback(body: Any) -> tuple[str, str]:
    """The canonical prediction id and the label of a feedback body, or InvalidParameter."""
    if not isinstance(body, dict):
        raise InvalidParameter(
            'the body must be a JSON object {"prediction_id": "...", "label": "..."}'
        )
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        shown = ", ".join(params.shown(name) for name in unknown[:5])
        raise InvalidParameter(f"unknown fields {shown}; expected prediction_id and label")
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
            f"label must be one of {', '.join(CLASSES)}, got {params.shown(label)}",
            extra={"parameter": "label"},
        )
    return prediction_id, label
