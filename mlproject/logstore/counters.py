"""Prometheus counters kept in the ``counters`` table, upserted atomically by the writer."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from mlproject.logstore.contract import (
    DROPPED_TOTAL,
    DURATION_BUCKET,
    DURATION_COUNT,
    DURATION_SUM,
    ERRORS_TOTAL,
    LATENCY_BUCKETS,
    PREDICTIONS_TOTAL,
)
from mlproject.logstore.tables import counters

CounterKey = tuple[str, str]  # (metric name, labels_key)
# Increments by CounterKey: Counter's update() adds, which is how batches merge them.
# Values are row counts, except the latency sum (float seconds; see add_latency_sum).
Deltas = Counter[CounterKey]


def labels_key(labels: Mapping[str, str | None]) -> str:
    """The canonical JSON of a label set, the ``labels`` column's value (None is null)."""
    return json.dumps(dict(labels), sort_keys=True, separators=(",", ":"))


def go_float(value: float) -> str:
    """A bucket bound as prometheus_client writes it ("0.005", "1.0", "+Inf")."""
    value = float(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    # repr() is what prometheus_client's floatToGoString returns for every bound we use.
    return repr(value)


def prediction_deltas(model_version: str, predictions: Iterable[str]) -> Deltas:
    """+1 on iris_predictions_total{model_version,prediction} per row."""
    deltas: Deltas = Counter()
    for prediction in predictions:
        key = labels_key({"model_version": str(model_version), "prediction": prediction})
        deltas[(PREDICTIONS_TOTAL, key)] += 1
    return deltas


def rejection_deltas(reason: str) -> Deltas:
    """+1 on iris_prediction_errors_total{reason}."""
    return Counter({(ERRORS_TOTAL, labels_key({"reason": reason})): 1})


def latency_deltas(seconds: float) -> Deltas:
    """One observation of iris_prediction_duration_seconds: cumulative buckets, sum, count."""
    seconds = float(seconds)
    deltas: Deltas = Counter()
    for bound in (*LATENCY_BUCKETS, math.inf):
        if seconds <= bound:
            deltas[(DURATION_BUCKET, labels_key({"le": go_float(bound)}))] += 1
    add_latency_sum(deltas, seconds)
    deltas[(DURATION_COUNT, labels_key({}))] += 1
    return deltas


def add_latency_sum(deltas: Deltas, seconds: float) -> None:
    """Add ``seconds`` to the latency histogram's sum, the one counter that is not whole."""
    # typeshed declares Counter's values int; collections documents any number, and the
    # adding update() of the batches is what we rely on, so the float goes in as it is.
    deltas[(DURATION_SUM, labels_key({}))] += seconds  # type: ignore[assignment]


def dropped_deltas(rows: int) -> Deltas:
    """+rows on iris_prediction_log_dropped_total."""
    return Counter({(DROPPED_TOTAL, labels_key({})): rows})


def increment_counters(conn: sa.Connection, deltas: Mapping[CounterKey, float]) -> None:
    """Add each delta to its (metric, labels_key) counter in one atomic upsert."""
    # Sorted: concurrent writers then lock counter rows in the same order (no deadlocks).
    rows = [
        {"metric": metric, "labels": key, "value": float(value)}
        for (metric, key), value in sorted(deltas.items())
        if value
    ]
    if not rows:
        return
    dialect = conn.dialect.name
    stmt: sqlite.Insert | postgresql.Insert
    if dialect == "sqlite":
        stmt = sqlite.insert(counters).values(rows)
    elif dialect == "postgresql":
        stmt = postgresql.insert(counters).values(rows)
    else:
        raise NotImplementedError(f"counters need an upsert; no support for {dialect}")
    stmt = stmt.on_conflict_do_update(
        index_elements=[counters.c.metric, counters.c.labels],
        set_={"value": counters.c.value + stmt.excluded.value},
    )
    conn.execute(stmt)


def read_counters(conn: sa.Connection) -> list[tuple[str, dict[str, str], float]]:
    """Every counter as (metric, labels, value), ordered by metric then labels."""
    result = conn.execute(
        sa.select(counters.c.metric, counters.c.labels, counters.c.value).order_by(
            counters.c.metric, counters.c.labels
        )
    )
    return [(metric, json.loads(key), float(value)) for metric, key, value in result]
