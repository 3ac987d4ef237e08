"""``GET /drift``: the live window's drift per feature against the training reference."""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..state import get_state

bp = Blueprint("drift", __name__)


@bp.get("/drift")
def drift():
    """The drift report (cached a few seconds); see ``sidecar.monitoring.drift``."""
    return jsonify(get_state().drift.current())
