"""``GET /health``: is the log store reachable, is scoring reachable, which model serves."""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..probes import health_report
from ..state import get_state

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    """200 with status "ok" when the log store and scoring answer, else 503 "degraded"."""
    report = health_report(get_state())
    return jsonify(report), (200 if report["status"] == "ok" else 503)
