"""What one sidecar process holds: settings, engine, jobs, model and lineage lookups, drift,
the label-free accuracy estimate, the challenger trial."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy.engine import Engine

from .config import SidecarSettings
from .lineage import LineageSource
from .model_info import ModelInfoSource
from .monitoring.drift import DriftMonitor
from .monitoring.estimate import EstimateMonitor
from .retrain.runner import JobRunner
from .trial_report import TrialMonitor


@dataclass
class SidecarState:
    """Stored in ``app.extensions["sidecar"]`` by the app factory."""

    settings: SidecarSettings
    engine: Engine
    jobs: JobRunner
    model_info: ModelInfoSource
    lineage: LineageSource
    drift: DriftMonitor
    estimate: EstimateMonitor
    trial: TrialMonitor
    gauge_providers: list = field(default_factory=list)


def get_state() -> SidecarState:
    """The current app's sidecar state (inside a request or app context)."""
    return current_app.extensions["sidecar"]
