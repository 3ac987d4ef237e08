"""Rows/s into a SQLite WAL log store: one row per transaction vs the LogWriter's batches.

Run: ``.venv/bin/python -m benchmarks.bench_log_writer [--rows N]`` (about 10 s).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from mlproject.logstore import (
    LogWriter,
    PredictionRecord,
    create_store_engine,
    immediate_transaction,
    tables,
)
from mlproject.logstore.counters import increment_counters, latency_deltas, prediction_deltas
from tests.integration.logstore.workers import record as make_record


def one_row_per_transaction(engine: sa.Engine, records: list[PredictionRecord]) -> float:
    """Rows/s when each row (and its counters) is its own transaction, as a sync insert would."""
    started = time.perf_counter()
    for record in records:
        with immediate_transaction(engine) as conn:
            conn.execute(sa.insert(tables.predictions), [record.as_row()])
            deltas = prediction_deltas(record.model_version, [record.prediction])
            deltas.update(latency_deltas(record.latency_seconds))
            increment_counters(conn, deltas)
    return len(records) / (time.perf_counter() - started)


def log_writer(engine: sa.Engine, records: list[PredictionRecord], batch_size: int) -> float:
    """Rows/s through a LogWriter: submit everything (one row per request), then flush."""
    writer = LogWriter(engine, batch_size=batch_size, max_backlog=len(records) + 1)
    writer.start()
    started = time.perf_counter()
    for record in records:
        writer.submit_predictions([record], record.latency_seconds)
    if not writer.flush(timeout=120):
        raise RuntimeError("the writer did not catch up within 120 s")
    elapsed = time.perf_counter() - started
    writer.close()
    return len(records) / elapsed


def main(argv: list[str] | None = None) -> None:
    """Run both measurements on fresh stores in a temporary folder and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        single = create_store_engine(f"sqlite:///{Path(folder) / 'single.db'}")
        batched = create_store_engine(f"sqlite:///{Path(folder) / 'batched.db'}")
        one = one_row_per_transaction(single, [make_record("bench", i) for i in range(args.rows)])
        many = log_writer(
            batched, [make_record("bench", i) for i in range(args.rows)], args.batch_size
        )
        single.dispose()
        batched.dispose()
    print(f"rows: {args.rows}  (SQLite WAL, synchronous=FULL, counters in the same transaction)")
    print(f"one row per transaction : {one:10,.0f} rows/s")
    print(f"LogWriter (batch {args.batch_size:>5}) : {many:10,.0f} rows/s")
    print(f"ratio                   : {many / one:10.1f}x")


if __name__ == "__main__":
    main()
