"""Served throughput of MLflow's scoring server: prediction logging on vs off, 1 vs 2 workers.

Run: ``.venv/bin/python -m benchmarks.bench_scoring [--seconds S] [--clients N]``.
Everything happens in one run on this machine, so compare the ratios, not the absolutes.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import requests

from mlproject.config import FEATURES
from tests.support.stack import sqlite_tracking_uri, start_scoring, train

BODY = {"dataframe_split": {"columns": list(FEATURES), "data": [[5.9, 3.0, 5.1, 1.8]]}}


def measure(url: str, seconds: float, clients: int) -> tuple[float, int]:
    """Requests per second over ``seconds`` with ``clients`` keep-alive clients; errors."""
    stop = time.monotonic() + seconds
    counts, errors = [0] * clients, [0] * clients

    def client(index: int) -> None:
        with requests.Session() as session:
            while time.monotonic() < stop:
                response = session.post(f"{url}/invocations", json=BODY, timeout=30)
                if response.status_code == 200:
                    counts[index] += 1
                else:
                    errors[index] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started), sum(errors)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        tracking_uri = sqlite_tracking_uri(workdir)
        train(tracking_uri, workdir, "--candidates", "logistic_regression")
        store_url = f"sqlite:///{workdir / 'predictions.db'}"
        cases = [
            ("logging off, 1 worker", {"IRIS_PREDICTION_LOGGING": "false"}, 1, args.clients),
            ("logging on,  1 worker", {}, 1, args.clients),
            ("logging on,  2 workers", {}, 2, args.clients),
            ("logging on,  1 worker, 1 client", {}, 1, 1),
            ("logging on,  2 workers, 1 client", {}, 2, 1),
        ]
        results = {}
        for name, env, workers, clients in cases:
            server = start_scoring(tracking_uri, store_url, workdir, workers=workers, extra_env=env)
            try:
                measure(server.url, 1.0, clients)  # warm up
                rate, errors = measure(server.url, args.seconds, clients)
            finally:
                server.stop()
            results[name] = rate
            print(f"{name:<34} {rate:8.1f} req/s  ({clients} clients, {errors} errors)")
        base = results["logging off, 1 worker"]
        logged = results["logging on,  1 worker"]
        print(f"logging on / off (1 worker): {logged / base:.2f}")
        two = results["logging on,  2 workers, 1 client"]
        one = results["logging on,  1 worker, 1 client"]
        print(f"2 workers / 1 worker, 1 client: {two / one:.2f}")


if __name__ == "__main__":
    main()
