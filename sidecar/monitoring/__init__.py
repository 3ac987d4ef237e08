"""Prometheus metrics: the log-store collector and the ``/metrics`` exposition."""

from __future__ import annotations

from .collector import GaugeProvider, LogStoreCollector
from .exposition import init_metrics

__all__ = ["GaugeProvider", "LogStoreCollector", "init_metrics"]
