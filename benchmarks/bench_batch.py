"""Batch scoring throughput: the Spark job (local[*], local[1]) against in-process pandas.

Run: ``.venv/bin/python -m benchmarks.bench_batch [--rows 1000000] [--rounds 3]``.

One model (logistic regression, registered in a temporary file store), one input: the
versioned Iris CSV resampled with noise to ``--rows`` rows, written as Parquet in row groups
of 100,000 (so Spark can split it). Each round runs, one after the other (interleaved, so
a change of load on a shared machine hits every case alike):

- pandas: the same pyfunc, loaded in this process with logging off, ``predict`` on the
  DataFrame in chunks of 10,000 rows (its batch limit), BLAS held to one thread: one core;
- spark local[*] and spark local[1]: ``python -m mlproject.batch`` as users run it; its
  own timing (from reading to the last file written, checks and numbering included) and
  the wall time with the JVM's start.

Writes benchmarks/results/batch.json and prints a table with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mlproject.config import FEATURES
from tests.support.processes import REPO_ROOT, base_env
from tests.support.stack import sqlite_tracking_uri, train

RESULTS = REPO_ROOT / "benchmarks" / "results" / "batch.json"
CHUNK = 10_000


def make_input(path: Path, rows: int, seed: int = 7) -> None:
    """``rows`` Iris rows resampled with Gaussian noise (sd 0.1 cm, kept >= 0), as Parquet."""
    source = pd.read_csv(REPO_ROOT / "data" / "iris.csv")
    rng = np.random.default_rng(seed)
    sample = source.iloc[rng.integers(0, len(source), rows)].reset_index(drop=True)
    noise = rng.normal(0.0, 0.1, size=(rows, len(FEATURES)))
    sample[list(FEATURES)] = np.clip(sample[list(FEATURES)].to_numpy() + noise, 0.0, None)
    sample.to_parquet(path, index=False, row_group_size=100_000)


def pandas_rate(model, path: Path) -> dict:
    """Rows per second of the pyfunc's predict on one core (read included and not)."""
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    frame = pd.read_parquet(path)
    read = time.perf_counter() - started
    with threadpool_limits(limits=1):
        started = time.perf_counter()
        for start in range(0, len(frame), CHUNK):
            model.predict(frame.iloc[start : start + CHUNK][list(FEATURES)])
        predict = time.perf_counter() - started
    return {
        "rows_per_s": len(frame) / predict,
        "rows_per_s_with_read": len(frame) / (read + predict),
    }


def spark_rate(path: Path, output: Path, master: str, tracking_uri: str, workdir: Path) -> dict:
    """The batch job as a process: its own rows/s and the wall time with Spark's start."""
    started = time.perf_counter()
    result = subprocess.run(  # nosec B603 # fixed argv: this Python, our module, temp paths
        [sys.executable, "-m", "mlproject.batch", "--input", str(path), "--output", str(output)]
        + ["--master", master, "--model-uri", "models:/iris-classifier/1", "--overwrite", "true"],
        cwd=workdir,
        env=base_env({"MLFLOW_TRACKING_URI": tracking_uri}),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        "rows_per_s": summary["rows_per_second"],
        "job_seconds": summary["seconds"],
        "wall_seconds": wall,
        "rows_per_s_wall": summary["input_rows"] / wall,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        tracking_uri = sqlite_tracking_uri(workdir)
        train(tracking_uri, workdir, "--candidates", "logistic_regression", "--cv-folds", "2")
        path = workdir / "rows.parquet"
        make_input(path, args.rows)
        os.environ.update({"IRIS_PREDICTION_LOGGING": "false", "IRIS_MODEL_VERSION": "1"})
        import mlflow

        mlflow.set_tracking_uri(tracking_uri)
        model = mlflow.pyfunc.load_model("models:/iris-classifier/1")
        cases: dict[str, list[dict]] = {"pandas": [], "spark local[*]": [], "spark local[1]": []}
        loads = []
        for round_ in range(args.rounds):
            loads.append(os.getloadavg()[0])
            cases["pandas"].append(pandas_rate(model, path))
            for master in ("local[*]", "local[1]"):
                name = f"spark {master}"
                output = workdir / f"out-{round_}-{master[6]}"
                cases[name].append(spark_rate(path, output, master, tracking_uri, workdir))
            loads.append(os.getloadavg()[0])
            print(f"round {round_ + 1}/{args.rounds} done, load average {loads[-1]:.1f}")
    results = {
        "rows": args.rows,
        "rounds": args.rounds,
        "cores": cores,
        "load_average_1min": {"min": min(loads), "max": max(loads)},
        "cases": {
            name: {key: statistics.median(run[key] for run in runs) for key in runs[0]}
            for name, runs in cases.items()
        },
    }
    pandas_core = results["cases"]["pandas"]["rows_per_s"]
    spark_all = results["cases"]["spark local[*]"]["rows_per_s"]
    spark_one = results["cases"]["spark local[1]"]["rows_per_s"]
    results["per_core"] = {
        "pandas": pandas_core,
        "spark local[*]": spark_all / cores,
        "spark local[1]": spark_one,
        "spark local[*] / pandas, per core": spark_all / cores / pandas_core,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"{args.rows} rows, {cores} cores, medians of {args.rounds} interleaved rounds")
    for name, figures in results["cases"].items():
        print(f"  {name:<16} " + ", ".join(f"{key} {value:,.1f}" for key, value in figures.items()))
    for name, value in results["per_core"].items():
        print(f"  per core: {name:<36} {value:,.2f}")
    print(f"  load average (1 min) {min(loads):.1f}..{max(loads):.1f}; wrote {RESULTS}")
    return results


if __name__ == "__main__":
    main()
