"""The read side of the challenger trial: ``GET /challenger`` and its metrics, one source.

The trial's versions come from the registry (``TrialRegistrySource``), the evidence from
the log store through ``mlproject.challenger.pairs`` (the scorer decides on the same
counts), the decision and its history from ``challenger_decisions``. The decision shown
is the one the scorer recorded: it holds a terminal decision once reached, which a
recomputation here could not know. One report per ``ttl`` per process serves both the
endpoint and the scrape.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mlproject.challenger.decisions import latest_decision
from mlproject.challenger.evidence import TrialPolicy, evidence
from mlproject.challenger.pairs import pair_counts
from mlproject.challenger.shadow_store import lag_rows
from mlproject.challenger.trial import Trial
from mlproject.logstore import contract, tables

from .cache import TTLCache
from .timeutil import isoformat
from .trial_registry import RegistryTrial, TrialRegistrySource

HISTORY_ROWS = 20
TTL_SECONDS = 5.0


class TrialMonitor:
    """Builds the trial report at most once per ``ttl`` per process."""

    def __init__(
        self, engine: Engine, model_name: str, registry: TrialRegistrySource, ttl=TTL_SECONDS
    ) -> None:
        self._engine = engine
        self._model_name = model_name
        self._registry = registry
        self._cache: TTLCache[dict[str, Any]] = TTLCache(ttl)

    def report(self, conn: sa.Connection | None = None) -> dict[str, Any]:
        """The trial report (cached); reads with ``conn`` or a connection of its own."""

        def build() -> dict[str, Any]:
            if conn is not None:
                return build_report(conn, self._model_name, self._registry.current())
            with self._engine.connect() as own:
                return build_report(own, self._model_name, self._registry.current())

        return self._cache.get(self._model_name, build)


def build_report(conn: sa.Connection, model_name: str, registry: RegistryTrial) -> dict[str, Any]:
    """The whole report: the trial (or None) and the model's decision history."""
    trial, source = _trial(conn, model_name, registry)
    return {
        "model_name": model_name,
        "registry_reachable": registry.reachable,
        "trial": None if trial is None else _trial_report(conn, trial, registry, source),
        "history": decision_history(conn, model_name, HISTORY_ROWS),
    }


def decision_history(conn: sa.Connection, model_name: str, limit: int) -> list[dict[str, Any]]:
    """The latest ``limit`` recorded decisions of ``model_name``, newest first."""
    d = tables.challenger_decisions
    rows = conn.execute(
        sa.select(d).where(d.c.model_name == model_name).order_by(d.c.seq.desc()).limit(limit)
    ).mappings()
    return [
        {
            "decided_at": isoformat(row["decided_at"]),
            "champion_version": row["champion_version"],
            "challenger_version": row["challenger_version"],
            "decision": row["decision"],
            "action": row["action"],
            "labelled": int((row["evidence"] or {}).get("labelled", 0)),
            "discordant_b": int((row["evidence"] or {}).get("discordant_b", 0)),
            "discordant_c": int((row["evidence"] or {}).get("discordant_c", 0)),
        }
        for row in rows
    ]


def _trial(conn, model_name: str, registry: RegistryTrial) -> tuple[Trial | None, str]:
    if registry.reachable:
        if registry.champion and registry.challenger and registry.champion != registry.challenger:
            return Trial(model_name, registry.champion, registry.challenger), "registry"
        return None, "registry"
    # Registry down: the trial the scorer worked on last, from its cursor.
    c = tables.shadow_cursors
    key = conn.execute(
        sa.select(c.c.trial)
        .where(c.c.trial.startswith(f"{model_name}:", autoescape=True))
        .order_by(c.c.updated_at.desc())
        .limit(1)
    ).scalar()
    if key is None:
        return None, "log store"
    _, champion, challenger = key.rsplit(":", 2)
    return Trial(model_name, champion, challenger), "log store"


def _trial_report(conn, trial: Trial, registry: RegistryTrial, source: str) -> dict[str, Any]:
    recorded = latest_decision(conn, trial)
    policy = TrialPolicy()
    if recorded is not None:  # the scorer's own alpha and margin
        found = recorded["evidence"] or {}
        policy = TrialPolicy(
            alpha=float(found.get("alpha", policy.alpha)),
            margin=float(found.get("margin", policy.margin)),
        )
    counts = pair_counts(conn, trial)
    found = evidence(counts, policy)
    cursor = conn.execute(
        sa.select(tables.shadow_cursors.c.last_seq).where(
            tables.shadow_cursors.c.trial == trial.key
        )
    ).scalar()
    return {
        "source": source,
        "champion_version": trial.champion,
        "challenger_version": trial.challenger,
        "canary_percent": registry.canary_percent,
        "shadow_lag_rows": None if cursor is None else lag_rows(conn, trial.model_name, cursor),
        "rows_compared": counts.compared,
        "agreement": found["agreement"],
        "labelled": counts.labelled,
        "champion_accuracy": found["champion_accuracy"],
        "challenger_accuracy": found["challenger_accuracy"],
        "discordant_b": counts.challenger_only,
        "discordant_c": counts.champion_only,
        "p_value_better": found["p_value_better"],
        "p_value_worse": found["p_value_worse"],
        "difference_interval": found["difference_interval"],
        "alpha": policy.alpha,
        "margin": policy.margin,
        "decision": recorded["decision"] if recorded else contract.COLLECTING,
        "decided_at": isoformat(recorded["decided_at"]) if recorded else None,
        "action": recorded["action"] if recorded else None,
    }
