"""CPU of the live path with and without the shadow scorer running beside it.

Run: ``.venv/bin/python -m benchmarks.bench_shadow_cpu [--requests N]``. One scoring
server (``mlflow models serve`` of @champion, logging through its spool and shipper),
the same sequential single-row requests three times: with no scorer, with
``python -m mlproject.challenger`` scoring every logged row with @challenger, and with the
scorer stopped again (the spread between the first and last is this machine's noise). Reports the
scoring process group's CPU per request (utime + stime from /proc, the shipper included),
client latency, and the scorer's own CPU per shadow row. Compare within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import requests
import sqlalchemy as sa
from mlflow import MlflowClient

from mlproject.config import FEATURES
from mlproject.logstore import create_store_engine, tables
from tests.support.processes import VENV_BIN, Server, base_env, process_stats, start_process
from tests.support.stack import sqlite_tracking_uri, start_scoring, train

BODY = {"dataframe_split": {"columns": list(FEATURES), "data": [[5.9, 3.0, 5.1, 1.8]]}}
TICKS = os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pgid: int) -> float:
    """utime + stime of every live process in the process group ``pgid``."""
    total = 0
    for _, fields in process_stats():
        if int(fields[2]) == pgid:  # fields after the name: state ppid pgrp ...
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def run_requests(url: str, count: int, pgid: int) -> tuple[float, float]:
    """(CPU ms of the group per request, median client latency ms) over ``count`` requests."""
    latencies = []
    before = group_cpu_seconds(pgid)
    with requests.Session() as session:
        for _ in range(count):
            started = time.perf_counter()
            response = session.post(f"{url}/invocations", json=BODY, timeout=30)
            if not response.ok:
                raise RuntimeError(f"/invocations answered {response.status_code}")
            latencies.append(time.perf_counter() - started)
    time.sleep(3)  # let the shipper load the tail: its CPU belongs to this phase
    spent = group_cpu_seconds(pgid) - before
    return 1000 * spent / count, 1000 * statistics.median(latencies)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        uri = sqlite_tracking_uri(work)
        train(uri, work, "--candidates", "logistic_regression")
        train(uri, work, "--candidates", "logistic_regression", "--seed", "7")
        client = MlflowClient(uri, uri)
        store = f"sqlite:///{work / 'predictions.db'}"
        server = start_scoring(uri, store, work, extra_env={"IRIS_SPOOL_DIR": str(work / "spool")})
        scorer = None
        try:
            run_requests(server.url, 200, server.process.pid)  # warm-up
            alone = run_requests(server.url, args.requests, server.process.pid)
            champion = client.get_model_version_by_alias("iris-classifier", "champion").version
            other = "2" if str(champion) == "1" else "1"
            client.set_registered_model_alias("iris-classifier", "challenger", other)
            scorer = Server(
                start_process(
                    [str(VENV_BIN / "python"), "-m", "mlproject.challenger"],
                    log_path=work / "scorer.log",
                    env=base_env(
                        {
                            "MLFLOW_TRACKING_URI": uri,
                            "IRIS_LOG_STORE_URL": store,
                            "IRIS_SHADOW_SETTLE_SECONDS": "0",
                            "IRIS_SHADOW_POLL_SECONDS": "0.5",
                        }
                    ),
                    cwd=work,
                ),
                0,
                work / "scorer.log",
            )
            time.sleep(15)  # the scorer loads both versions and starts its cursor
            scorer_before = group_cpu_seconds(scorer.process.pid)
            beside = run_requests(server.url, args.requests, server.process.pid)
            time.sleep(5)
            scorer_cpu = group_cpu_seconds(scorer.process.pid) - scorer_before
            engine = create_store_engine(store)
            with engine.connect() as conn:
                shadows = conn.execute(
                    sa.select(sa.func.count()).select_from(tables.shadow_predictions)
                ).scalar_one()
            engine.dispose()
            scorer.stop()
            scorer = None
            again = run_requests(server.url, args.requests, server.process.pid)
        finally:
            if scorer is not None:
                scorer.stop()
            server.stop()
    print(f"scoring CPU per request, no trial:        {alone[0]:.3f} ms (p50 {alone[1]:.2f} ms)")
    print(f"scoring CPU per request, scorer running:  {beside[0]:.3f} ms (p50 {beside[1]:.2f} ms)")
    print(f"scoring CPU per request, scorer stopped:  {again[0]:.3f} ms (p50 {again[1]:.2f} ms)")
    print(f"shadow scorer CPU per shadow row: {1000 * scorer_cpu / max(shadows, 1):.3f} ms "
          f"({shadows} rows)")  # fmt: skip


if __name__ == "__main__":
    main()
