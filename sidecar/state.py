"""What one sidecar process holds: settings, its engine, its job runner, its model lookup."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy.engine import Engine

from .config import SidecarSettings
from .jobs import JobRunner
from .model_info import ModelInfoSource


@dataclass
class SidecarState:
    """Stored in ``app.extensions["sidecar"]`` by the app factory."""

    settings: SidecarSettings
    engine: Engine
    jobs: JobRunner
    model_info: ModelInfoSource
    gauge_providers: list = field(default_factory=list)


def get_state() -> SidecarState:
    """The current app's sidecar state (inside a request or app context)."""
    return current_app.extensions["sidecar"]
