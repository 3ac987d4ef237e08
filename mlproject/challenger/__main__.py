"""``python -m mlproject.challenger``: the shadow scorer, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import os
import signal
import threading

from mlflow import MlflowClient

from mlproject.logstore import create_store_engine

from .scorer import ShadowScorer
from .settings import ScorerSettings


def main() -> int:
    """Run the scorer with settings from the environment; exit 0 on a clean stop."""
    # The registered pyfunc logs every prediction unless told not to; a shadow answer is
    # not traffic. Set before any model is loaded (load_context reads it).
    os.environ["IRIS_PREDICTION_LOGGING"] = "false"
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = ScorerSettings.from_env()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    engine = create_store_engine(settings.project.log_store_url)
    client = MlflowClient(settings.project.tracking_uri, settings.project.tracking_uri)
    try:
        ShadowScorer(settings, engine, client, stop).run()
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
