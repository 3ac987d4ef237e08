"""``GET /drift``: the live window's drift per feature against the training reference."""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..errors import Unavailable
from ..state import get_state

bp = Blueprint("drift", __name__)


@bp.get("/drift")
def drift():
    """The drift report (cached a few seconds); see ``sidecar.monitoring.drift``."""
    monitor = get_state().drift
    if monitor is None:
        raise Unavailable("drift monitoring is not set up in this process")
    return jsonify(monitor.current())
