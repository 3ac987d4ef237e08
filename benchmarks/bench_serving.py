"""The serving table: a plain scikit-learn model under ``mlflow models serve`` against ours.

Run: ``.venv/bin/python -m benchmarks.bench_serving [--seconds S] [--rounds R]`` (``make
bench`` runs it with the defaults). One run, this machine:

- **plain**: the same fitted estimator saved by ``mlflow.sklearn`` with the same input
  signature and ``pyfunc_predict_fn="predict_proba"`` (our answers carry probabilities),
  served by ``mlflow models serve --env-manager local`` and hit directly;
- **ours**: the project's pyfunc (validation, ids, records, prediction logging ON through
  the spool, the shipper loading a SQLite store) in a scoring process behind HAProxy, hit
  through the public port, as users do.

``wrk`` posts ``dataframe_split`` bodies of 1, 100 and 10,000 rows at 1, 4 and 16
connections. Each round measures every cell both ways, alternating which goes first, so
machine noise hits both sides alike; medians over rounds. Reported per cell: req/s, p50,
p99 of each and the ratios ours/plain (throughput, and p99 as ours/plain). Written to
``benchmarks/results/serving.json``. Compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from benchmarks.bench_edge import body, wrk
from benchmarks.stacks import our_model_behind_the_edge

ROWS = (1, 100, 10_000)
CONNECTIONS = (1, 4, 16)
RESULTS = Path(__file__).parent / "results"


def save_plain_model(path: Path) -> Path:
    """The project's estimator as a plain ``mlflow.sklearn`` model with the same signature."""
    import mlflow.sklearn
    from mlflow.models import infer_signature

    from mlproject.candidates import CANDIDATES
    from mlproject.data import load_dataset, split_dataset
    from tests.support.processes import REPO_ROOT

    split = split_dataset(load_dataset(REPO_ROOT / "data" / "iris.csv"), 0.2, 42)
    estimator = CANDIDATES["logistic_regression"].build(42).fit(split.x_train, split.y_train)
    example = split.x_test.head(3).reset_index(drop=True)
    signature = infer_signature(example, estimator.predict_proba(example))
    mlflow.sklearn.save_model(
        estimator, str(path), signature=signature, pyfunc_predict_fn="predict_proba"
    )
    return path


def start_plain(model: Path, port: int, logs: Path) -> subprocess.Popen:
    """``mlflow models serve`` for ``model`` on ``port``, once /ping answers."""
    from tests.support.processes import base_env

    logs.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(  # nosec B603 # fixed argv: this Python's mlflow CLI
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(model), "-p", str(port)]
        + ["--env-manager", "local", "--host", "127.0.0.1"],
        stdout=(logs / "plain.log").open("wb"),
        stderr=subprocess.STDOUT,
        env=base_env(),  # MLflow runs `uvicorn` from PATH: the venv's
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/ping", timeout=1).ok:
                return process
        except requests.RequestException:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"mlflow models serve did not answer /ping; see {logs / 'plain.log'}")


def stop_plain(process: subprocess.Popen) -> None:
    os.killpg(process.pid, 15)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)


def measure(targets: dict[str, str], args, work: Path) -> dict:
    """Every (rows, connections, target) cell, ``args.rounds`` times, interleaved."""
    runs: dict[str, list[dict]] = {}
    for rows in args.rows:  # warm up both paths at every size
        for url in targets.values():
            wrk(url, body(rows), 1, 4, work)
    for round_index in range(args.rounds):
        for rows in args.rows:
            for connections in args.connections:
                order = list(targets) if round_index % 2 == 0 else list(reversed(targets))
                for target in order:
                    # A 10,000-row answer takes ~0.3 s: give big bodies time for a sample.
                    seconds = args.seconds * (3 if rows >= 10_000 else 1)
                    run = wrk(targets[target], body(rows), seconds, connections, work)
                    runs.setdefault(f"{rows}/{connections}/{target}", []).append(run)
                    print(
                        f"  round {round_index + 1} {rows:>6} rows c{connections:<3} {target:<5}"
                        f" {run['rps']:9.1f} req/s  p50 {run['p50'] * 1e3:8.2f} ms"
                        f"  p99 {run['p99'] * 1e3:8.2f} ms  non-2xx {run['errors']}",
                        flush=True,
                    )
    return runs


def table(runs: dict[str, list[dict]], args) -> list[dict]:
    """One row per (rows, connections): medians of each side and the ratios."""
    out = []
    for rows in args.rows:
        for connections in args.connections:
            cell = {"rows": rows, "connections": connections}
            for target in ("plain", "ours"):
                samples = runs[f"{rows}/{connections}/{target}"]
                cell[f"{target}_rps"] = round(statistics.median(r["rps"] for r in samples), 1)
                for key in ("p50", "p99"):
                    value = statistics.median(r[key] for r in samples)
                    cell[f"{target}_{key}_ms"] = round(value * 1e3, 2)
                cell[f"{target}_errors"] = sum(r["errors"] for r in samples)
            cell["ratio"] = _ratio(cell["ours_rps"], cell["plain_rps"])
            cell["p99_ratio"] = _ratio(cell["ours_p99_ms"], cell["plain_p99_ms"])
            out.append(cell)
    return out


def _ratio(ours: float, plain: float) -> float:
    """ours / plain; NaN when the plain side completed nothing (an overloaded machine)."""
    return round(ours / plain, 3) if plain else float("nan")


def print_table(rows: list[dict], args) -> None:
    print(
        f"\nwrk, {args.seconds:.0f} s x {args.rounds} rounds, medians; "
        "ratio = ours (edge, logging on) / plain (mlflow models serve)"
    )
    print(
        f"{'rows':>6} {'conn':>4} {'plain req/s':>11} {'ours req/s':>10} {'ratio':>6} "
        f"{'plain p50':>9} {'ours p50':>8} {'plain p99':>9} {'ours p99':>8} {'p99 x':>6}"
    )
    for r in rows:
        print(
            f"{r['rows']:>6} {r['connections']:>4} {r['plain_rps']:11.1f} {r['ours_rps']:10.1f} "
            f"{r['ratio']:6.3f} {r['plain_p50_ms']:7.2f}ms {r['ours_p50_ms']:6.2f}ms "
            f"{r['plain_p99_ms']:7.2f}ms {r['ours_p99_ms']:6.2f}ms {r['p99_ratio']:6.2f}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rows", type=int, nargs="+", default=list(ROWS))
    parser.add_argument("--connections", type=int, nargs="+", default=list(CONNECTIONS))
    parser.add_argument("--out", type=Path, default=RESULTS / "serving.json")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench_serving: wrk is not installed (apt-get install wrk); skipped")
        return
    from tests.support.processes import free_port

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        store_url = f"sqlite:///{work / 'predictions.db'}"
        plain_port = free_port()
        plain = start_plain(save_plain_model(work / "plain"), plain_port, work / "logs")
        try:
            with our_model_behind_the_edge(work, store_url) as stack:
                targets = {"plain": f"http://127.0.0.1:{plain_port}", "ours": stack.url}
                runs = measure(targets, args, work)
        finally:
            stop_plain(plain)
    rows = table(runs, args)
    print_table(rows, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"seconds": args.seconds, "rounds": args.rounds, "table": rows}, indent=2) + "\n"
    )
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
