"""The Flask sidecar: prediction log, samples, feedback, retraining, health and metrics."""

from __future__ import annotations

from functools import partial

# Imported before any request thread runs. First imported by two request threads at once
# (MLflow's client in one, a query's literal coercion in the other), it left one of them a
# partially initialised sqlalchemy.orm.exc: AttributeError, a 500 (seen in CI).
import sqlalchemy.orm  # noqa: F401
from flask import Flask

from mlproject.logstore import create_store_engine

from .config import SidecarSettings
from .errors import SidecarError, register_error_handlers
from .lineage import LineageSource
from .model_info import ModelInfoSource
from .monitoring import (
    DriftMonitor,
    LogStoreCollector,
    ReferenceSource,
    init_metrics,
    trial_metrics,
)
from .monitoring.estimate import CalibrationSource, EstimateMonitor
from .openapi import init_openapi
from .ratelimit import init_rate_limits
from .retrain.runner import JobRunner
from .security import init_security_headers
from .state import SidecarState, get_state
from .trial_registry import TrialRegistrySource
from .trial_report import TrialMonitor
from .views import BLUEPRINTS

__all__ = ["SidecarError", "SidecarSettings", "create_app", "get_state"]

# The largest body an endpoint takes (feedback, retrain parameters) is under 1 KiB; a
# larger one is refused with 413 before it is read into memory.
MAX_REQUEST_BYTES = 64 * 1024


def create_app(settings: SidecarSettings | None = None) -> Flask:
    """Build the app; settings default to the environment. Creates this process's engine.

    Call it once per process (gunicorn workers do, as the app is not preloaded).
    """
    settings = settings or SidecarSettings.from_env()
    app = Flask(__name__)
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    engine = create_store_engine(settings.project.log_store_url)
    model_info = ModelInfoSource(engine, settings.project)
    references = ReferenceSource(settings.project, settings.data_path)
    state = SidecarState(
        settings=settings,
        engine=engine,
        jobs=JobRunner(engine, settings),
        model_info=model_info,
        lineage=LineageSource(settings.project),
        drift=DriftMonitor(engine, model_info, references, settings.drift),
        estimate=EstimateMonitor(
            engine, CalibrationSource(settings.project), settings.accuracy_window
        ),
        trial=TrialMonitor(
            engine, settings.project.model_name, TrialRegistrySource(settings.project)
        ),
    )
    state.gauge_providers += [state.drift.metrics, state.estimate.metrics]
    state.gauge_providers.append(partial(trial_metrics, state.trial))
    app.extensions["sidecar"] = state
    register_error_handlers(app)
    init_security_headers(app)
    init_rate_limits(app, settings.rate_limits.by_route())
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    collector = LogStoreCollector(
        engine, model_info, settings.accuracy_window, gauge_providers=state.gauge_providers
    )
    init_metrics(app, collector)
    init_openapi(app)  # last: it describes every route registered before it
    return app
