"""The challenger trial's shadow scorer, run by the supervisor beside the scoring processes.

``python -m mlproject.challenger`` reads the log store by sequence and scores each row with
the other version of the trial (the challenger on the champion's rows, the champion on the
canary's), off the request path; it idles while no ``@challenger`` exists. The supervisor
starts it with the shipper, restarts it when it exits and stops it with the rest; its
cursor is committed with its shadow rows, so a restart neither repeats nor skips a row.
See docs/CHALLENGER.md.
"""

from __future__ import annotations

import sys

from serving.children import CompanionSpec
from serving.settings import ServingSettings

SHADOW_SCORER = "shadow-scorer"


def shadow_companion(settings: ServingSettings) -> CompanionSpec:
    """``python -m mlproject.challenger`` for the supervisor's registry, model and store."""
    return CompanionSpec(
        SHADOW_SCORER,
        (sys.executable, "-m", "mlproject.challenger"),
        env={
            "MLFLOW_TRACKING_URI": settings.tracking_uri,
            "IRIS_MODEL_NAME": settings.model_name,
            "IRIS_LOG_STORE_URL": settings.log_store_url,
        },
        # A batch of shadow rows commits (or rolls back whole) well within this.
        stop_timeout=5.0,
    )
