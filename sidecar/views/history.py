"""``GET /history``: every change of the model in service, and which version served when.

The serving supervisor writes one ``model_switches`` row per event: ``switched`` (a new
version took traffic), ``refused`` (a promoted version failed to load or its smoke test,
the old one kept serving) and ``restarted`` (the same version in a new process).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from mlproject.logstore import contract

from .. import params, queries
from ..errors import NotFound
from ..state import get_state
from ..timeutil import isoformat, utcnow

bp = Blueprint("history", __name__)


@bp.get("/history")
def list_history():
    """Switches, refusals and restarts, newest first (``limit`` 1..500, default 50)."""
    args = params.query_args(request.args, ("limit", "outcome"))
    limit = params.bounded_int("limit", args.get("limit"), 1, 500, 50)
    outcome = params.one_of("outcome", args.get("outcome"), contract.SWITCH_OUTCOMES)
    with get_state().engine.connect() as conn:
        items = queries.switches(conn, limit, outcome)
    return jsonify({"items": items})


@bp.get("/history/at")
def served_at():
    """Which version served at ``time`` (ISO-8601; default now): the last switch before it."""
    args = params.query_args(request.args, ("time",))
    moment = params.timestamp("time", args.get("time")) or utcnow()
    with get_state().engine.connect() as conn:
        switch = queries.serving_at(conn, moment)
    if switch is None:
        raise NotFound(f"no model is recorded as serving at {isoformat(moment)}")
    return jsonify(
        {
            "time": isoformat(moment),
            "model_name": switch["model_name"],
            "model_version": switch["to_version"],
            "serving_since": switch["switched_at"],
            "switch": switch,
        }
    )
