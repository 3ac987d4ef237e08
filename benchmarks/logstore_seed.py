"""A fresh log store holding ``n`` realistic predictions, seeded in bulk for scale tests.

Rows go in through the shipper's own loader (``mlproject.logstore.load``: ``executemany`` on
SQLite, ``COPY`` on PostgreSQL, counters in the same transaction), 50,000 per transaction.

What a store of ``n`` rows holds, the same shares at every size:
- predictions over the last ``DAYS`` days, oldest first, ids UUIDv7 in the same order;
  versions "1" to "4" served in turn (a quarter of the log each); in the newest tenth,
  version "5" is on trial as challenger and answers ``CANARY`` of the traffic (role
  ``challenger``);
- a true label on ``LABELLED`` of the predictions (right 9 times in 10), minutes later;
- one rejection per 200 predictions;
- the trial's shadow answers on its newest ``TRIAL_ROWS`` rows (a trial covers the traffic
  since it began, not the log: the same at every size), its cursor ``SHADOW_LAG`` rows
  behind, one recorded decision; a switch per version in ``model_switches``.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa

from mlproject.config import CLASSES
from mlproject.logstore import counters as c
from mlproject.logstore import create_store_engine, immediate_transaction, tables
from mlproject.logstore.ids import id_strings
from mlproject.logstore.load import Batch, load
from mlproject.logstore.metrics import LATENCY_BUCKETS

MODEL = "iris-classifier"
DAYS = 30
CANARY = 0.05
LABELLED = 0.10
TRIAL_ROWS = 2_000
SHADOW_LAG = 50
CHUNK = 50_000
REASONS = ("missing_column", "not_a_number", "out_of_range", "too_many_rows")
_MEANS = np.array([5.84, 3.06, 3.76, 1.20])
_STDS = np.array([0.83, 0.44, 1.77, 0.76])


def version_of(index: np.ndarray, n: int) -> np.ndarray:
    """The served version ("1".."4") of the rows at 0-based ``index``."""
    return (np.minimum(index * 4 // n, 3) + 1).astype(str)


def seed(
    url: str, n: int, *, end: datetime | None = None, rng_seed: int = 7, canary: float = CANARY
) -> datetime:
    """Fill the empty store at ``url`` with ``n`` predictions; returns the newest time."""
    end = end or datetime.now(UTC).replace(microsecond=0)
    engine = create_store_engine(url)
    rng = np.random.default_rng(rng_seed)
    start = end - timedelta(days=DAYS)
    span = DAYS * 86400.0
    for first in range(0, n, CHUNK):
        index = np.arange(first, min(first + CHUNK, n))
        seconds = start.timestamp() + span * (index + 1) / n
        with immediate_transaction(engine) as conn:
            batch, labels = _chunk(conn.dialect, rng, index, n, seconds, canary)
            load(conn, batch, None, end)
            _copy(conn, "feedback", ("prediction_id", "label", "created_at", "updated_at"), labels)
    with immediate_transaction(engine) as conn:
        _trial(conn, n, end)
        _switches(conn, start)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")  # what autovacuum does after a bulk load
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return end


def _chunk(dialect, rng, index: np.ndarray, n: int, seconds: np.ndarray, share: float):
    rows = len(index)
    ids = _ids(seconds, rng)
    when = _timestamps(dialect, seconds)
    features = np.abs(rng.normal(_MEANS, _STDS, size=(rows, 4))).round(1).tolist()
    probabilities = rng.dirichlet([4, 1, 1], size=rows)
    rng.permuted(probabilities, axis=1, out=probabilities)
    class_index = probabilities.argmax(axis=1)
    versions = version_of(index, n)
    canary = (index >= n * 0.9) & (rng.random(rows) < share)
    versions[canary] = "5"
    latency = rng.gamma(2.0, 0.002, size=rows)
    batch = Batch()
    probability_rows = probabilities.round(4).tolist()
    latencies, classes = latency.tolist(), class_index.tolist()
    template = "{" + ", ".join(f'"{name}": %r' for name in CLASSES) + "}"
    versions_list, canary_list = versions.tolist(), canary.tolist()
    for i in range(rows):
        batch.predictions.append(
            (ids[i], when[i], MODEL, versions_list[i], f"run{versions_list[i]}", None, *features[i])
            + (CLASSES[classes[i]], classes[i], template % tuple(probability_rows[i]))
            + (latencies[i], "challenger" if canary_list[i] else "champion")
        )
    pairs = Counter(zip(versions.tolist(), classes, strict=True))
    for (version, label), count in pairs.items():
        key = c.labels_key({"model_version": version, "prediction": CLASSES[label]})
        batch.prediction_deltas[(c.PREDICTIONS_TOTAL, key)] += count
    _observe(batch.deltas, latency)
    for i in np.flatnonzero(index % 200 == 0):
        reason = REASONS[int(index[i] // 200) % len(REASONS)]
        batch.rejections.append(
            (ids[i][:-4] + "ffff", when[i], MODEL, versions[i], None, reason, "sepal_length")
            + (0, f"{reason} in row 0, column 'sepal_length'")
        )
        batch.deltas.update(c.rejection_deltas(reason))
    labels = []
    for i in np.flatnonzero(rng.random(rows) < LABELLED):
        truth = class_index[i] if rng.random() < 0.9 else (class_index[i] + 1) % 3
        labelled = _timestamps(dialect, seconds[i : i + 1] + rng.uniform(60, 3600))[0]
        labels.append((ids[i], CLASSES[truth], labelled, labelled))
    return batch, labels


def _observe(deltas: Counter, latency: np.ndarray) -> None:
    """The latency histogram's counters for many observations at once."""
    bounds = np.array([*LATENCY_BUCKETS, np.inf])
    below = np.searchsorted(np.sort(latency), bounds, side="right")
    for bound, count in zip(bounds.tolist(), below.tolist(), strict=True):
        if count:
            deltas[(c.DURATION_BUCKET, c.labels_key({"le": c.go_float(bound)}))] += count
    deltas[(c.DURATION_SUM, c.labels_key({}))] += float(latency.sum())
    deltas[(c.DURATION_COUNT, c.labels_key({}))] += len(latency)


def _trial(conn: sa.Connection, n: int, end: datetime) -> None:
    p = tables.predictions
    newest = conn.execute(
        sa.select(p.c.seq, p.c.prediction_id, p.c.model_version, p.c.class_index)
        .order_by(p.c.seq.desc())
        .limit(TRIAL_ROWS)
    ).all()
    shadows = []
    for i, row in enumerate(newest):
        other, role = ("5", "challenger") if row.model_version == "4" else ("4", "champion")
        answer = row.class_index if i % 10 else (row.class_index + 1) % 3
        shadows.append(
            {
                "prediction_id": row.prediction_id,
                "model_version": other,
                "role": role,
                "prediction": CLASSES[answer],
                "class_index": answer,
                "probabilities": {
                    name: round(float(name == CLASSES[answer]), 1) for name in CLASSES
                },
                "created_at": end,
            }
        )
    if shadows:
        conn.execute(sa.insert(tables.shadow_predictions), shadows)
    last = newest[0].seq - SHADOW_LAG if newest else 0
    trial = f"{MODEL}:4:5"
    conn.execute(
        sa.insert(tables.shadow_cursors).values(trial=trial, last_seq=last, updated_at=end)
    )
    conn.execute(
        sa.insert(tables.challenger_decisions).values(
            decided_at=end,
            model_name=MODEL,
            champion_version="4",
            challenger_version="5",
            decision="collecting",
            evidence={"labelled": 0, "alpha": 0.05, "margin": 0.0},
        )
    )


def _switches(conn: sa.Connection, start: datetime) -> None:
    rows = [
        {
            "switched_at": start + timedelta(days=DAYS * (v - 1) / 4),
            "model_name": MODEL,
            "from_version": str(v - 1) if v > 1 else None,
            "to_version": str(v),
            "outcome": "switched",
            "reason": "seeded",
        }
        for v in range(1, 5)
    ]
    conn.execute(sa.insert(tables.model_switches), rows)


def _ids(seconds: np.ndarray, rng) -> list[str]:
    """UUIDv7 ids for rows made at ``seconds``, in their order (as the pyfunc makes them)."""
    ms = (seconds * 1000).astype(np.uint64)
    counter = np.arange(len(seconds), dtype=np.uint64)
    words = np.empty((len(seconds), 2), dtype=">u8")
    words[:, 0] = (ms << np.uint64(16)) | np.uint64(0x7000) | (counter >> np.uint64(14) & 0xFFF)
    noise = rng.integers(0, 1 << 48, size=len(seconds), dtype=np.uint64)
    words[:, 1] = (
        np.uint64(0x8000_0000_0000_0000) | ((counter & np.uint64(0x3FFF)) << np.uint64(48)) | noise
    )
    return id_strings(words.tobytes())


def _timestamps(dialect, seconds: np.ndarray) -> list:
    """Timestamps as the shipper hands them to the driver (``assemble.Assembler``)."""
    micros = np.rint(seconds * 1e6).astype("int64").astype("datetime64[us]")
    text = np.char.replace(np.datetime_as_string(micros, unit="us"), "T", " ")
    if dialect.name != "sqlite":
        text = np.char.add(text, "+00:00")
    return text.tolist()


def _copy(conn: sa.Connection, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Bulk insert: COPY on PostgreSQL, executemany elsewhere (as the loader does)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        driver = conn.connection.driver_connection
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # nosec B608 # our own names
    conn.exec_driver_sql(sql, rows)


def counts(url: str) -> dict[str, int]:
    """Rows per table, to check a seeded store."""
    engine = create_store_engine(url)
    with engine.connect() as conn:
        found = {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (tables.predictions, tables.feedback, tables.rejections)
        }
    engine.dispose()
    return found


if __name__ == "__main__":  # python -m benchmarks.logstore_seed URL N
    import sys
    import time

    began = time.perf_counter()
    seed(sys.argv[1], int(sys.argv[2]))
    print(json.dumps(counts(sys.argv[1])), f"{time.perf_counter() - began:.1f} s")
