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


def labels_key(labels: Mapping[str, str]) -> str:
    """The canonical JSON of a label set, the ``labels`` column's value."""
    return json.dumps(dict(labels), sort_keys=True, separators=(",", ":"))


def go_float(value: float) -> str:
    """A bucket bound as prometheus_client writes it ("0.005", "1.0", "+Inf")."""
    value = float(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    # repr() is what prometheus_client's floatToGoString returns for every bound we use.
    return repr(value)


def prediction_deltas(model_version: str, predictions: Iterable[str]) -> Counter:
    """+1 on iris_predictions_total{model_version,prediction} per row."""
    deltas: Counter = Counter()
    for prediction in predictions:
        key = labels_key({"model_version": str(model_version), "prediction": prediction})
        deltas[(PREDICTIONS_TOTAL, key)] += 1
    return deltas


def rejection_deltas(reason: str) -> Counter:
    """+1 on iris_prediction_errors_total{reason}."""
    return Counter({(ERRORS_TOTAL, labels_key({"reason": reason})): 1})


def latency_deltas(seconds: float) -> Counter:
    """One observation of iris_prediction_duration_seconds: cumulative buckets, sum, count."""
    seconds = float(seconds)
    deltas: Counter = Counter()
    for bound in (*LATENCY_BUCKETS, math.inf):
        if seconds <= bound:
            deltas[(DURATION_BUCKET, labels_key({"le": go_float(bound)}))] += 1
    deltas[(DURATION_SUM, labels_key({}))] += seconds
    deltas[(DURATION_COUNT, labels_key({}))] += 1
    return deltas


def dropped_deltas(rows: int) -> Counter:
    """+rows on iris_prediction_log_dropped_total."""
    return Counter({(DROPPED_TOTAL, labels_key({})): rows})


def increment_counters(conn: sa.Connection, deltas: Mapping[tuple[str, str], float]) -> None:
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
