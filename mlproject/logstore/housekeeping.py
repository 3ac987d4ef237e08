"""The shipper's periodic chores between loads: expire pending feedback, apply retention.

Both run in the shipper because it is the store's one steady writer: on SQLite a second
process purging would contend for the same write lock. Each chore is one short
transaction when due, so ingest never waits for more than one of them.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import sqlalchemy as sa

from mlproject.logstore.engine import immediate_transaction
from mlproject.logstore.feedback import expire_pending
from mlproject.logstore.retention import Retention, purge_step

logger = logging.getLogger(__name__)


class Housekeeping:
    """Runs each chore at most every ``every`` seconds; a purge repeats until caught up."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        feedback_window: float = 3600.0,
        retention: Retention | None = None,
        every: float = 10.0,
    ) -> None:
        self.engine = engine
        self.feedback_window = feedback_window
        self.retention = retention or Retention()
        self.every = every
        self._expired_at = 0.0
        self._purged_at = 0.0
        self._purging = False  # the last step was a full batch: more to purge
        self.purged_rows = 0

    def run_due(self) -> None:
        """Do whichever chore is due; at most one purge batch per call."""
        now = time.monotonic()
        if now - self._expired_at >= self.every:
            self._expired_at = now
            with immediate_transaction(self.engine) as conn:
                gone = expire_pending(conn, datetime.now(UTC), self.feedback_window)
            if gone:
                logger.info("dropped %d feedback labels whose prediction never arrived", gone)
        if self.retention.enabled and (self._purging or now - self._purged_at >= self.every):
            self._purged_at = now
            with immediate_transaction(self.engine) as conn:
                gone = purge_step(conn, self.retention, datetime.now(UTC))
            self.purged_rows += gone
            self._purging = gone >= self.retention.batch
            if gone:
                logger.info("retention: purged %d old rows", gone)
