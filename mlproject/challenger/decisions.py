"""The trial's decision history in ``challenger_decisions``: one row each time it changes.

A decision other than ``collecting`` ends the trial's test: the guarantees of the
sequential test hold for the first time a boundary is crossed, so a later wobble of the
evidence never turns "challenger better" back into "collecting". The evidence keeps being
computed and shown; the recorded decision stays.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from mlproject.logstore import contract, immediate_transaction, tables

from .trial import Trial


def latest_decision(conn: sa.Connection, trial: Trial) -> dict[str, Any] | None:
    """The trial's newest ``challenger_decisions`` row as a dict, or None."""
    d = tables.challenger_decisions
    row = (
        conn.execute(
            sa.select(d)
            .where(
                d.c.model_name == trial.model_name,
                d.c.champion_version == trial.champion,
                d.c.challenger_version == trial.challenger,
            )
            .order_by(d.c.seq.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def settled(previous: dict[str, Any] | None, decision: str) -> str:
    """The decision to hold: a terminal one stays once reached."""
    if previous is not None and previous["decision"] != contract.COLLECTING:
        held: str = previous["decision"]  # the row's text column
        return held
    return decision


def record_decision(
    engine: sa.Engine,
    trial: Trial,
    decision: str,
    evidence: dict[str, Any],
    action: str | None = None,
    reason: str | None = None,
) -> None:
    """Insert the decision row and, for an action, its ``model_switches`` row, together."""
    now = datetime.now(UTC)
    with immediate_transaction(engine) as conn:
        conn.execute(
            sa.insert(tables.challenger_decisions).values(
                decided_at=now,
                model_name=trial.model_name,
                champion_version=trial.champion,
                challenger_version=trial.challenger,
                decision=decision,
                evidence=evidence,
                action=action,
            )
        )
        if action is not None:
            conn.execute(
                sa.insert(tables.model_switches).values(
                    switched_at=now,
                    model_name=trial.model_name,
                    from_version=trial.champion,
                    to_version=trial.challenger,
                    outcome=action,
                    reason=reason or decision,
                )
            )
