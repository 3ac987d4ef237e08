"""The prediction log's write path: spool appends (request side) and shipper ingest (rows/s).

Run: ``.venv/bin/python -m benchmarks.bench_log_writer [--rows N]`` (about a minute).

In one run, on fresh stores in a temporary folder:
1. the request side: microseconds to build and append one request's frame, buffered and
   with ``IRIS_LOG_DURABILITY=fsync``, for 1 and 100 rows;
2. the shipper: ``--rows`` rows spooled as 1-row and as 100-row requests, then loaded by
   one Shipper; rows/s from its first to its last commit, on SQLite and (when reachable)
   PostgreSQL, counters and offsets included;
3. the baseline: one row per transaction (what a synchronous insert per request costs),
   on SQLite, so the ratio is measured on the same machine in the same run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from mlproject.logstore import create_store_engine, frames, immediate_transaction, tables
from mlproject.logstore.counters import increment_counters, latency_deltas, prediction_deltas
from mlproject.logstore.ids import IdSource
from mlproject.logstore.shipper import Shipper
from tests.integration.logstore.spooling import (
    PROBABILITIES,
    ROW,
    folder_for,
    open_writer,
    request_frame,
)
from tests.integration.logstore.workers import record as make_record

POSTGRES_ADMIN_URL = os.environ.get(
    "IRIS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def append_cost(folder: Path, rows: int, fsync: bool, requests: int) -> float:
    """Microseconds per request to frame a request's arrays and append them, as predict does."""
    writer = open_writer(folder, fsync=fsync)
    raw, _ = IdSource().take(rows)
    features = np.array([ROW] * rows)
    probabilities = np.array([PROBABILITIES] * rows)
    class_index = np.zeros(rows, dtype=np.uint8)
    started = time.perf_counter()
    for _ in range(requests):
        frame = frames.predictions_frame(
            time.time(), 0.004, b"", raw, features, probabilities, class_index
        )
        writer.append(frame, rows, 0.004)
    elapsed = time.perf_counter() - started
    writer.close()
    return elapsed / requests * 1e6


def _backend_cpu_seconds(engine: sa.Engine) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving this database (0 if not)."""
    if engine.dialect.name != "postgresql":
        return 0.0
    with engine.connect() as conn:
        pids = conn.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def ingest(store_url: str, folder: Path, rows: int, rows_per_request: int) -> tuple[float, float]:
    """(rows/s, rows per CPU-second) a Shipper loads ``rows`` spooled rows with.

    CPU seconds are the shipper process's own (SQLite runs inside it) plus, on
    PostgreSQL, the server backends' for this database: a figure that does not depend on
    what else the machine is running, unlike the wall clock.
    """
    engine = create_store_engine(store_url)
    shipper = Shipper(folder, engine)
    shipper.ship_once()  # migrations and the first offsets read happen before the clock
    writer = open_writer(folder)
    for _ in range(rows // rows_per_request):
        frame, _ = request_frame(rows_per_request)
        writer.append(frame, rows_per_request, 0.004)
    writer.close()
    server_before = _backend_cpu_seconds(engine)
    cpu_before = time.process_time()
    started = time.perf_counter()
    while shipper.ship_once():
        pass
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before + _backend_cpu_seconds(engine) - server_before
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(tables.predictions)).scalar()
    engine.dispose()
    if stored != rows // rows_per_request * rows_per_request:
        raise RuntimeError(f"stored {stored} rows of {rows}")
    return stored / elapsed, stored / cpu


def one_row_per_transaction(store_url: str, rows: int) -> float:
    """Rows/s when each row (and its counters) is its own transaction."""
    engine = create_store_engine(store_url)
    records = [make_record("bench", i) for i in range(rows)]
    started = time.perf_counter()
    for record in records:
        with immediate_transaction(engine) as conn:
            conn.execute(sa.insert(tables.predictions), [record.as_row()])
            deltas = prediction_deltas(record.model_version, [record.prediction])
            deltas.update(latency_deltas(record.latency_seconds))
            increment_counters(conn, deltas)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return rows / elapsed


def _postgres_database():
    """(url, drop) for a fresh PostgreSQL database, or None when none is reachable."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"iris_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception:  # noqa: BLE001 - no server: PostgreSQL is skipped
        return None

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop


def main(argv: list[str] | None = None) -> dict:
    """Run every measurement and print a table; returns the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=2_000)
    args = parser.parse_args(argv)
    results: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for rows in (1, 100):
            for fsync in (False, True):
                spool = folder_for(root / f"append-{rows}-{fsync}", "sqlite:///unused.db")
                results[f"append {rows} row(s), {'fsync' if fsync else 'buffered'} (us)"] = (
                    append_cost(spool, rows, fsync, 2000 if not fsync else 300)
                )
        stores = [("sqlite", f"sqlite:///{root / 'ingest.db'}", None)]
        postgres = _postgres_database()
        if postgres is not None:
            stores.append(("postgresql", postgres[0], postgres[1]))
        try:
            for name, url, _ in stores:
                for per_request in (1, 100):
                    spool = folder_for(root / f"spool-{name}-{per_request}", url)
                    key = f"ingest {name}, {per_request}-row requests"
                    wall, cpu = ingest(url, spool, args.rows, per_request)
                    results[f"{key} (rows/s)"] = wall
                    results[f"{key} (rows per CPU-second)"] = cpu
                    _empty(url)
            baseline_url = f"sqlite:///{root / 'baseline.db'}"
            results["baseline sqlite, one row per transaction (rows/s)"] = one_row_per_transaction(
                baseline_url, args.baseline_rows
            )
        finally:
            if postgres is not None:
                postgres[1]()
    base = results["baseline sqlite, one row per transaction (rows/s)"]
    results["ratio sqlite ingest (1-row requests) / baseline"] = (
        results["ingest sqlite, 1-row requests (rows/s)"] / base
    )
    for key, value in results.items():
        print(f"{key:<58} {value:12,.1f}")
    return results


def _empty(url: str) -> None:
    engine = create_store_engine(url)
    with immediate_transaction(engine) as conn:
        for table in (tables.predictions, tables.counters, tables.spool_offsets):
            conn.execute(sa.delete(table))
    engine.dispose()


if __name__ == "__main__":
    main()
