"""One blueprint per concern; ``BLUEPRINTS`` is what the app factory registers."""

from __future__ import annotations

from .challenger import bp as challenger
from .dashboard import bp as dashboard
from .drift import bp as drift
from .feedback import bp as feedback
from .health import bp as health
from .history import bp as history
from .index import bp as index
from .logs import bp as logs
from .retrain import bp as retrain
from .sample import bp as sample

BLUEPRINTS = (
    index,
    dashboard,
    health,
    history,
    logs,
    sample,
    feedback,
    retrain,
    drift,
    challenger,
)
