"""``GET /health``: is the log store reachable, is scoring reachable, which model serves."""

from __future__ import annotations

from typing import Any

import requests
from flask import Blueprint, jsonify

from mlproject.logstore import store_is_reachable

from ..state import get_state

bp = Blueprint("health", __name__)

SCORING_TIMEOUT_SECONDS = 2.0


@bp.get("/health")
def health():
    """200 with status "ok" when the log store and scoring answer, else 503 "degraded"."""
    state = get_state()
    reachable, error = store_is_reachable(state.engine)
    log_store = {"reachable": reachable, "error": error}
    scoring = check_scoring(state.settings.project.scoring_url)
    ok = log_store["reachable"] and scoring["reachable"]
    body = {
        "status": "ok" if ok else "degraded",
        "log_store": log_store,
        "scoring": scoring,
        "model": state.model_info.current().as_dict(),
        # A promoted version the supervisor refused: the old one still serves, but a
        # person promoted something that is not live, and should know why.
        "refused_promotion": _refused_promotion(state.engine) if reachable else None,
        # The supervisor's newest event: a switch, a refusal, or a restart after the
        # scoring process died (with its exit code in the reason).
        "last_serving_event": _last_serving_event(state.engine) if reachable else None,
    }
    return jsonify(body), (200 if ok else 503)


def _refused_promotion(engine) -> dict[str, Any] | None:
    from .history import latest_refusal

    with engine.connect() as conn:
        return latest_refusal(conn)


def _last_serving_event(engine) -> dict[str, Any] | None:
    from .history import latest_event

    with engine.connect() as conn:
        return latest_event(conn)


def check_scoring(url: str) -> dict[str, Any]:
    """``GET {url}/ping`` with a short timeout: reachable only on a 200."""
    result: dict[str, Any] = {"reachable": False, "url": url, "error": None}
    try:
        response = requests.get(f"{url}/ping", timeout=SCORING_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        result["error"] = f"{exc.__class__.__name__}: cannot reach {url}/ping"
        return result
    if response.status_code != 200:
        result["error"] = f"{url}/ping answered HTTP {response.status_code}"
    else:
        result["reachable"] = True
    return result
