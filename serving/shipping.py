"""The prediction log's shipper, run by the supervisor beside the scoring processes.

Scoring processes append every answered prediction to the spool under
``settings.spool_root`` (``IRIS_LOG_SHIPPER=external``: they never start a shipper of their
own); this one process per host loads the spool into the log store. The supervisor starts
it first and stops it last, so it ships what the scoring processes wrote before they
stopped; whatever is left is loaded on the next start (see docs/LOGGING.md).
"""

from __future__ import annotations

import sys

from serving.children import CompanionSpec
from serving.settings import ServingSettings

SHIPPER = "log-shipper"


def shipper_companion(settings: ServingSettings) -> CompanionSpec:
    """``python -m mlproject.logstore.shipper run`` for the supervisor's spool and store."""
    return CompanionSpec(
        SHIPPER,
        (
            sys.executable,
            "-m",
            "mlproject.logstore.shipper",
            "run",
            "--spool-dir",
            str(settings.spool_root),
        ),
        env={"IRIS_LOG_STORE_URL": settings.log_store_url},
        # A batch in flight commits (or rolls back whole) well within this.
        stop_timeout=5.0,
    )
