"""``GET /logs``: the prediction log, newest first, filtered, in keyset-paged pages."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from mlproject.config import CLASSES
from mlproject.logstore.contract import ROLES

from .. import params, queries
from ..state import get_state

bp = Blueprint("logs", __name__)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
ALLOWED = ("model_version", "prediction", "role", "since", "limit", "cursor")


@bp.get("/logs")
def list_logs():
    """One page of predictions, newest first; ``next_cursor`` fetches the next one."""
    args = params.query_args(request.args, ALLOWED)
    filters = {
        "model_version": params.short_text("model_version", args.get("model_version"), 50),
        "prediction": params.one_of("prediction", args.get("prediction"), CLASSES),
        "since": params.timestamp("since", args.get("since")),
        # champion or challenger (a canary answer); rows from before the trial are champion
        "role": params.one_of("role", args.get("role"), ROLES),
        "limit": params.bounded_int("limit", args.get("limit"), 1, MAX_LIMIT, DEFAULT_LIMIT),
        "before_seq": params.decode_cursor("cursor", args.get("cursor")),
    }
    with get_state().engine.connect() as conn:
        items, next_seq = queries.prediction_page(conn, **filters)
    next_cursor = params.encode_cursor(next_seq) if next_seq is not None else None
    return jsonify({"items": items, "next_cursor": next_cursor})
