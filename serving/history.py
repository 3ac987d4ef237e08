"""What the supervisor did, for people and the sidecar: model_switches rows and state.json."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from mlproject.logstore import (
    create_store_engine,
    immediate_transaction,
    increment_counters,
    labels_key,
    tables,
)
from mlproject.logstore.contract import REFUSED, REFUSED_TOTAL

logger = logging.getLogger(__name__)


@dataclass
class LiveState:
    """The supervisor's live state, rewritten to ``<run_dir>/state.json`` on every change."""

    model_name: str
    follow: str
    public_url: str
    supervisor_pid: int = field(default_factory=os.getpid)
    version: str | None = None
    pid: int | None = None  # the serving version's first scoring process
    port: int | None = None
    last_refusal: dict | None = None
    updated_at: str | None = None
    # The edge (HAProxy) and every scoring process behind it.
    metrics_url: str | None = None
    access_log: str | None = None
    admin_socket: str | None = None
    haproxy_pid: int | None = None
    edge_restarts: int = 0
    colour: str | None = None
    processes: list[dict] = field(default_factory=list)  # {slot, pid, port}
    switching: dict | None = None  # {to_version, since} while a switch is under way
    download_failed: str | None = None  # the last failed download, until a switch succeeds
    last_exit: dict | None = None  # the last scoring process that died or hung
    # The @challenger in the canary slots: {version, processes, canary_percent, starting,
    # refused, warning}; None when there is no trial (see serving.challenger).
    challenger: dict | None = None


class History:
    """Writes switch rows (and the refusal counter) to the log store, and the state file."""

    def __init__(self, store_url: str, state_path: Path, state: LiveState) -> None:
        self.engine: sa.Engine = create_store_engine(store_url)
        self.state_path = state_path
        self.state = state

    def record(self, from_version: str | None, to_version: str, outcome: str, reason: str) -> bool:
        """One model_switches row (plus the refusal counter when refused); False on outage."""
        row = {
            "switched_at": datetime.now(UTC),
            "model_name": self.state.model_name,
            "from_version": from_version,
            "to_version": to_version,
            "outcome": outcome,
            "reason": reason[:4000],
        }
        try:
            with immediate_transaction(self.engine) as conn:
                conn.execute(sa.insert(tables.model_switches).values(**row))
                if outcome == REFUSED:
                    increment_counters(conn, {(REFUSED_TOTAL, labels_key({})): 1})
        except (SQLAlchemyError, OSError) as exc:
            # Serving goes on without its history; the log line still tells the story.
            logger.error("could not record %s %s -> %s: %s", outcome, from_version, to_version, exc)
            return False
        return True

    def update_state(self, **changes) -> None:
        """Change the live state and rewrite state.json atomically."""
        for key, value in changes.items():
            setattr(self.state, key, value)
        self.state.updated_at = datetime.now(UTC).isoformat()
        try:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            scratch = self.state_path.with_suffix(".json.tmp")
            scratch.write_text(json.dumps(asdict(self.state), indent=2))
            scratch.replace(self.state_path)
        except OSError as exc:
            logger.warning("could not write %s: %s", self.state_path, exc)

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()
