"""``GET /``: the dashboard for browsers, a JSON index of the endpoints for API clients.

Content negotiation: HTML only when the client asks for ``text/html`` at least as much
as for JSON (browsers do); ``Accept: application/json``, ``*/*`` (curl, requests) and no
Accept header at all get the JSON index.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, make_response, render_template, request

from ..state import get_state

bp = Blueprint("index", __name__)

POLL_SECONDS = 5

ENDPOINTS = {
    "GET /": "this index as JSON; the dashboard for browsers (Accept: text/html)",
    "GET /health": "log store, scoring server and the model in service",
    "GET /logs": "prediction log, newest first (model_version, prediction, since, limit, cursor)",
    "GET /sample?n=5": "a ready-to-POST /invocations body drawn from the versioned data set",
    "POST /feedback": "record the true label of a prediction (bearer SIDECAR_TOKEN)",
    "POST /retrain": "start the MLflow Project in the background (bearer SIDECAR_TOKEN)",
    "GET /retrain/<job_id>": "state and outcome of a retrain job",
    "GET /history": "model switches, refused promotions and restarts, newest first",
    "GET /history/at?time=...": "which model version served at a given time",
    "GET /drift": "live input drift per feature against the training reference",
    "GET /api/overview": "dashboard: model in service, its lineage, log totals, latest job",
    "GET /api/stats?window=200&buckets=12": "dashboard: class mix and latency percentiles",
    "GET /api/errors?limit=10": "dashboard: rejections by reason and the latest ones",
    "GET /api/accuracy?window=200": "dashboard: live accuracy from feedback, per version",
    "GET /api/drift": "dashboard: GET /drift per feature, or available=false",
    "GET /metrics": "Prometheus metrics",
}


def wants_html() -> bool:
    """True when the client names ``text/html`` and prefers it to JSON (a browser)."""
    accept = request.accept_mimetypes
    html = max((q for value, q in accept if value.lower() == "text/html"), default=0)
    return html > 0 and html >= accept.quality("application/json")


@bp.get("/")
def index():
    """The dashboard page, or the JSON index of endpoints."""
    if wants_html():
        state = get_state()
        response = make_response(
            render_template(
                "dashboard.html",
                model=state.model_info.current(),
                token_configured=bool(state.settings.project.sidecar_token),
                poll_seconds=POLL_SECONDS,
            )
        )
    else:
        response = jsonify({"service": "iris-sidecar", "endpoints": ENDPOINTS})
    response.headers["Vary"] = "Accept"
    return response
