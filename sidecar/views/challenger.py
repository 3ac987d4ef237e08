"""``GET /challenger``: the challenger trial, its evidence and its decision history."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from .. import params
from ..state import get_state

bp = Blueprint("challenger", __name__)


@bp.get("/challenger")
def challenger():
    """The trial: versions, canary share, shadow lag, agreement, accuracies, decision.

    ``trial`` is null when no version holds the ``challenger`` alias (or it is the
    champion); ``history`` lists the model's recorded decisions, newest first.
    """
    params.query_args(request.args, ())
    return jsonify(get_state().trial.report())
