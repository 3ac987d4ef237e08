"""``GET /``: the dashboard for browsers, a JSON index of the endpoints for API clients.

The JSON index lists every route with its summary, from the OpenAPI document.
Content negotiation: HTML only when the client asks for ``text/html`` at least as much
as for JSON (browsers do); ``Accept: application/json``, ``*/*`` (curl, requests) and no
Accept header at all get the JSON index.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, make_response, render_template, request

from ..state import get_state

bp = Blueprint("index", __name__)

POLL_SECONDS = 5


def endpoint_index() -> dict[str, str]:
    """``{"GET /logs": summary, ...}`` from the OpenAPI document (GET /openapi.json)."""
    document = current_app.extensions["sidecar.openapi"]
    return {
        f"{method.upper()} {path}": operation["summary"]
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
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
        response = jsonify({"service": "iris-sidecar", "endpoints": endpoint_index()})
    response.headers["Vary"] = "Accept"
    return response
