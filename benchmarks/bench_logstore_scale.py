"""The log store at scale: the sidecar's reads with 10k to 10M logged predictions.

Run: ``.venv/bin/python -m benchmarks.bench_logstore_scale [--sizes 10000,100000,1000000]
[--stores sqlite,postgresql] [--rounds 5] [--quick]`` (``--quick``: 10k and 100k, 3 rounds).

For each store and size, a fresh store is seeded in bulk (``benchmarks.logstore_seed``)
and a real sidecar (gunicorn, one worker, scripts/run-sidecar.sh) is started on it. Then,
in interleaved rounds over every sidecar (so machine noise hits all sizes alike), each read
is timed over HTTP; the figure is the median per read. Reads the sidecar caches for 5 s
(drift, the label-free estimate, the trial report, the model in service) are timed cold:
a sidecar is asked again only once its caches expired, ``/metrics`` in one round and
``/api/drift``, ``/api/accuracy`` and ``/challenger`` in the next, so every one of these
calls computes from the store. The ratio is each size's median over the smallest size's.
Results: ``benchmarks/results/logstore_scale.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from benchmarks.bench_log_writer import _postgres_database
from benchmarks.logstore_seed import seed
from sidecar.params import encode_cursor
from tests.support.stack import start_sidecar

RESULTS = Path(__file__).parent / "results" / "logstore_scale.json"
CACHE_SECONDS = 5.2  # the sidecar's caches keep a value 5 s
COLD_A = ("/metrics",)
COLD_B = ("/api/drift", "/api/accuracy", "/challenger")


def reads(n: int, since: str) -> dict[str, str]:
    """The uncached reads, by name: /logs pages and filters, the dashboard's data."""
    deep = encode_cursor(max(2, n // 10))  # a page 90% of the way down the log
    return {
        "/logs first page": "/logs?limit=100",
        "/logs deep page (cursor)": f"/logs?limit=100&cursor={deep}",
        "/logs ?prediction=": "/logs?limit=100&prediction=virginica",
        "/logs ?model_version= (oldest)": "/logs?limit=100&model_version=1",
        "/logs ?role=challenger": "/logs?limit=100&role=challenger",
        "/logs ?role=challenger, deep": f"/logs?limit=100&role=challenger&cursor={deep}",
        "/logs ?since= (last day)": f"/logs?limit=100&since={quote(since)}",
        "/logs ?since= + class + version": (
            f"/logs?limit=100&since={quote(since)}&prediction=setosa&model_version=4"
        ),
        "/api/overview": "/api/overview",
        "/api/stats": "/api/stats?window=200",
        "/api/errors": "/api/errors",
        "/history": "/history",
    }


def timed_get(base: str, path: str) -> float:
    """Seconds for one GET (read to the end); raises on a non-200."""
    started = time.perf_counter()
    with urllib.request.urlopen(base + path, timeout=120) as response:  # nosec B310 # our own sidecar, 127.0.0.1
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status}")
    return time.perf_counter() - started


class Target:
    """One seeded store and the sidecar reading it."""

    def __init__(self, store: str, n: int, url: str, work: Path, seconds: float, since: str):
        self.store, self.n, self.url, self.seed_seconds = store, n, url, seconds
        self.server = start_sidecar(
            url,
            work,
            tracking_uri="http://127.0.0.1:9",
            workers=1,
            extra_env={"SIDECAR_LOG_LEVEL": "warning"},
        )
        self.base = self.server.url
        self.reads = reads(n, since)
        self.samples: dict[str, list[float]] = {}
        self.last_cold = 0.0

    def round(self, cold: tuple[str, ...]) -> None:
        wait = self.last_cold + CACHE_SECONDS - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        for path in cold:
            self.samples.setdefault(path + " (cold)", []).append(timed_get(self.base, path))
        self.last_cold = time.monotonic()
        for name, path in self.reads.items():
            self.samples.setdefault(name, []).append(timed_get(self.base, path))


def seed_store(store: str, n: int, root: Path, cleanups: list) -> tuple[str, float, str]:
    """(url, seconds to seed, since-parameter) of a fresh store of ``n`` rows."""
    if store == "sqlite":
        url = f"sqlite:///{root / f'scale-{n}.db'}"
    else:
        made = _postgres_database()
        if made is None:
            raise RuntimeError("PostgreSQL is not reachable")
        url, drop = made
        cleanups.append(drop)
    began = time.perf_counter()
    end = seed(url, n)
    return url, time.perf_counter() - began, (end - timedelta(days=1)).isoformat()


def main(argv: list[str] | None = None) -> dict:
    """Seed, measure, print the table, write the JSON; returns the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000,10000000")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=5, help="cold samples per cached read")
    parser.add_argument("--quick", action="store_true", help="10k and 100k, 3 rounds")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sizes = [10_000, 100_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    rounds = 3 if args.quick else args.rounds
    cleanups: list = []
    targets: list[Target] = []
    with tempfile.TemporaryDirectory(prefix="logstore-scale-") as folder:
        root = Path(folder)
        try:
            for store in args.stores.split(","):
                for n in sizes:
                    url, seconds, since = seed_store(store, n, root, cleanups)
                    print(f"seeded {store} with {n:,} rows in {seconds:.0f} s", flush=True)
                    targets.append(Target(store, n, url, root / f"{store}-{n}", seconds, since))
            for target in targets:  # warm-up: connections, references, first queries
                target.round(COLD_A + COLD_B)
                target.samples.clear()
            for i in range(2 * rounds):
                for target in targets:
                    target.round(COLD_A if i % 2 == 0 else COLD_B)
        finally:
            for target in targets:
                target.server.stop(timeout=5)
            for drop in cleanups:
                drop()
    results = summarise(targets, sizes, rounds)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    return results


def summarise(targets: list[Target], sizes: list[int], rounds: int) -> dict:
    """Medians (ms) per store, read and size, and each size's ratio to the smallest."""
    stores: dict = {}
    for target in targets:
        entry = stores.setdefault(target.store, {"seed_seconds": {}, "reads": {}})
        entry["seed_seconds"][str(target.n)] = round(target.seed_seconds, 1)
        for name, values in target.samples.items():
            entry["reads"].setdefault(name, {})[str(target.n)] = statistics.median(values) * 1e3
    for entry in stores.values():
        for name, by_size in entry["reads"].items():
            base = by_size[str(sizes[0])]
            entry["reads"][name] = {
                "median_ms": {k: round(v, 2) for k, v in by_size.items()},
                "ratio_to_smallest": {k: round(v / base, 2) for k, v in by_size.items()},
            }
    return {
        "command": "python -m benchmarks.bench_logstore_scale",
        "sizes": sizes,
        "rounds": rounds,
        "machine": {
            "cores": os.cpu_count(),
            "cpu": platform.processor() or platform.machine(),
            "load_average_1min_at_end": os.getloadavg()[0],
            "sqlite": sa.__version__ and __import__("sqlite3").sqlite_version,
        },
        "stores": stores,
    }


def print_table(results: dict) -> None:
    sizes = [str(n) for n in results["sizes"]]
    head = "".join(f"{int(n):>12,}" for n in sizes)
    for store, entry in results["stores"].items():
        print(f"\n{store}: median ms (ratio to {int(sizes[0]):,})")
        print(f"{'read':<36}{head}")
        for name, figures in entry["reads"].items():
            cells = "".join(
                f"{figures['median_ms'][n]:>7.1f} x{figures['ratio_to_smallest'][n]:<3.1f}"
                for n in sizes
            )
            print(f"{name:<36}{cells}")


if __name__ == "__main__":
    main()
