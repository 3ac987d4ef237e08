"""``GET /metrics``: prometheus-flask-exporter's HTTP metrics plus the log-store collector.

Under gunicorn (PROMETHEUS_MULTIPROC_DIR set) the exporter records into the multiprocess
directory and each scrape builds a fresh registry of MultiProcessCollector + our collector:
the exporter's own endpoint would build a registry without custom collectors, so its path
stays disabled. Without that variable (flask dev server, unit tests) a plain
PrometheusMetrics records into a per-app registry that also holds our collector.
"""

from __future__ import annotations

import os

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.exposition import choose_encoder
from prometheus_flask_exporter import PrometheusMetrics
from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

from .collector import LogStoreCollector

bp = Blueprint("metrics", __name__)

_EXTENSION = "sidecar.metrics"


def multiprocess_dir() -> str | None:
    """The multiprocess directory if the start-up script set one."""
    # prometheus_client still honours the older lowercase name, so a start-up script may set it.
    legacy = os.environ.get("prometheus_multiproc_dir")  # noqa: SIM112
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or legacy


def init_metrics(app: Flask, collector: LogStoreCollector) -> None:
    """Instrument ``app`` with HTTP metrics and register the ``/metrics`` view."""
    common = {"path": None, "group_by": "endpoint", "excluded_paths": ["^/metrics$"]}
    if multiprocess_dir():
        exporter = GunicornInternalPrometheusMetrics.for_app_factory(**common)
        registry = None  # built per scrape
    else:
        registry = CollectorRegistry()
        exporter = PrometheusMetrics.for_app_factory(registry=registry, **common)
        registry.register(collector)
    exporter.init_app(app)
    app.extensions[_EXTENSION] = {"collector": collector, "registry": registry}
    app.register_blueprint(bp)


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text, or OpenMetrics when the scraper asks for it."""
    state = current_app.extensions[_EXTENSION]
    registry = state["registry"]
    if registry is None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(state["collector"])
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(registry), headers={"Content-Type": content_type})
