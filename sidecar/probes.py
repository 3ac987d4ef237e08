"""What ``GET /health`` reports: is the log store reachable, is scoring, which model serves.

The dashboard's overview shows the same report; both call ``health_report``.
"""

from __future__ import annotations

from typing import Any

import requests

from mlproject.logstore import store_is_reachable

from . import queries
from .state import SidecarState

SCORING_TIMEOUT_SECONDS = 2.0


def health_report(state: SidecarState) -> dict[str, Any]:
    """Store, scoring, model, and the serving events a person should know about.

    ``status`` is "ok" when both the log store and scoring answer, else "degraded".
    """
    reachable, error = store_is_reachable(state.engine)
    scoring = check_scoring(state.settings.project.scoring_url)
    refusal = event = None
    if reachable:
        with state.engine.connect() as conn:
            refusal = queries.latest_refusal(conn)
            event = queries.latest_event(conn)
    return {
        "status": "ok" if reachable and scoring["reachable"] else "degraded",
        "log_store": {"reachable": reachable, "error": error},
        "scoring": scoring,
        "model": state.model_info.current().as_dict(),
        # A promoted version the supervisor refused: the old one still serves, but a
        # person promoted something that is not live, and should know why.
        "refused_promotion": refusal,
        # The supervisor's newest event: a switch, a refusal, or a restart after the
        # scoring process died (with its exit code in the reason).
        "last_serving_event": event,
    }


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
