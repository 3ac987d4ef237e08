"""Prometheus metrics: the log-store collector, drift, and the ``/metrics`` exposition."""

from __future__ import annotations

from .collector import GaugeProvider, LogStoreCollector
from .drift import DriftMonitor
from .drift_reference import ReferenceSource
from .exposition import init_metrics
from .trial import trial_metrics

__all__ = [
    "DriftMonitor",
    "GaugeProvider",
    "LogStoreCollector",
    "ReferenceSource",
    "init_metrics",
    "trial_metrics",
]
