"""``GET /history``: every change of the model in service, and which version served when.

The serving supervisor writes one ``model_switches`` row per event: ``switched`` (a new
version took traffic), ``refused`` (a promoted version failed to load or its smoke test,
the old one kept serving) and ``restarted`` (the same version in a new process).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, jsonify, request

from mlproject.logstore import contract, tables

from .. import params
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
    s = tables.model_switches
    query = sa.select(s).order_by(s.c.seq.desc()).limit(limit)
    if outcome:
        query = query.where(s.c.outcome == outcome)
    with get_state().engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return jsonify({"items": [switch_as_dict(row) for row in rows]})


@bp.get("/history/at")
def served_at():
    """Which version served at ``time`` (ISO-8601; default now): the last switch before it."""
    args = params.query_args(request.args, ("time",))
    moment = params.timestamp("time", args.get("time")) or utcnow()
    s = tables.model_switches
    query = (
        sa.select(s)
        .where(s.c.outcome.in_(contract.SERVING_OUTCOMES), s.c.switched_at <= moment)
        .order_by(s.c.switched_at.desc(), s.c.seq.desc())
        .limit(1)
    )
    with get_state().engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"no model is recorded as serving at {isoformat(moment)}")
    return jsonify(
        {
            "time": isoformat(moment),
            "model_name": row["model_name"],
            "model_version": row["to_version"],
            "serving_since": isoformat(row["switched_at"]),
            "switch": switch_as_dict(row),
        }
    )


def latest_refusal(conn: sa.Connection) -> dict[str, Any] | None:
    """The newest refusal, if it is newer than the newest switch (i.e. still relevant)."""
    s = tables.model_switches
    newest = conn.execute(sa.select(s).order_by(s.c.seq.desc()).limit(20)).mappings().all()
    for row in newest:
        if row["outcome"] == contract.SWITCHED:
            return None
        if row["outcome"] == contract.REFUSED:
            return switch_as_dict(row)
    return None


def latest_event(conn: sa.Connection) -> dict[str, Any] | None:
    """The newest switch, refusal or restart, or None before the first."""
    s = tables.model_switches
    row = conn.execute(sa.select(s).order_by(s.c.seq.desc()).limit(1)).mappings().first()
    return switch_as_dict(row) if row is not None else None


def switch_as_dict(row) -> dict[str, Any]:
    return {
        "switched_at": isoformat(row["switched_at"]),
        "model_name": row["model_name"],
        "from_version": row["from_version"],
        "to_version": row["to_version"],
        "outcome": row["outcome"],
        "reason": row["reason"],
    }
