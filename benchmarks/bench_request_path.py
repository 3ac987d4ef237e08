"""The request path inside the scoring process, in microseconds, measured in-process.

Run: ``.venv/bin/python -m benchmarks.bench_request_path [--repeat N]`` (about 30 s).

Saves a logistic-regression pyfunc with the project's packaging into a temporary folder,
loads it as the scoring server does, and times (median of N calls, after a warm-up), for
1 and 100 rows in the frame MLflow hands over (float64 columns):
  - validate_features, the id source, and the whole predict with logging off and on
    (spool buffered, and fsync), so the logging ratio is measured in the same run;
  - MLflow's response encoding (``predictions_to_json``: ``json.dump`` with a custom
    encoder class takes Python's pure-Python encoder) against ``json.dumps`` on the same
    records (the C encoder), to size what the edge's encoder would save.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from io import StringIO
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.pyfunc.scoring_server import predictions_to_json

from mlproject.candidates import CANDIDATES
from mlproject.config import FEATURES
from mlproject.data import load_dataset, split_dataset
from mlproject.logstore.ids import IdSource
from mlproject.packaging import save_model
from mlproject.validation import validate_features
from tests.support.processes import environment

REPO = Path(__file__).resolve().parents[1]
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5], [5.9, 3.0, 5.1, 1.8]]


def median_us(call, repeat: int) -> float:
    """Median wall time of ``call()`` in microseconds."""
    for _ in range(max(10, repeat // 10)):
        call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def load(path: Path, **env: str):
    """The saved pyfunc loaded with ``env`` set (as a scoring server would see it)."""
    with environment(**env):
        return mlflow.pyfunc.load_model(str(path))


def main(argv: list[str] | None = None) -> dict:
    """Time each step for 1 and 100 rows and print a table; returns the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args(argv)
    split = split_dataset(load_dataset(REPO / "data" / "iris.csv"), 0.2, 42)
    estimator = CANDIDATES["logistic_regression"].build(42).fit(split.x_train, split.y_train)
    results: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = root / "model"
        os.environ["IRIS_PREDICTION_LOGGING"] = "false"
        save_model(path, estimator, split, "iris-classifier", "bench")
        del os.environ["IRIS_PREDICTION_LOGGING"]
        common = {"IRIS_MODEL_VERSION": "1", "IRIS_LOG_SHIPPER": "external"}
        models = {
            "off": load(path, IRIS_PREDICTION_LOGGING="false", **common),
            "spool": load(path, IRIS_SPOOL_DIR=str(root / "a"), **common),
            "spool+fsync": load(
                path, IRIS_SPOOL_DIR=str(root / "b"), IRIS_LOG_DURABILITY="fsync", **common
            ),
        }
        ids = IdSource()
        for rows in (1, 100):
            frame = pd.DataFrame([ROWS[i % 3] for i in range(rows)], columns=list(FEATURES))
            repeat = args.repeat if rows == 1 else args.repeat // 4
            results[f"validate_features, {rows} row(s)"] = median_us(
                lambda f=frame: validate_features(f), repeat
            )
            results[f"ids, {rows} row(s)"] = median_us(lambda n=rows: ids.take(n), repeat)
            for name, model in models.items():
                # Our predict alone (what MLflow calls after its schema enforcement).
                ours = model.unwrap_python_model()
                results[f"predict, logging {name}, {rows} row(s)"] = median_us(
                    lambda m=ours, f=frame: m.predict(None, f),
                    repeat if "fsync" not in name else 200,
                )
            results[f"MLflow PyFuncModel.predict (schema + ours, off), {rows} row(s)"] = median_us(
                lambda m=models["off"], f=frame: m.predict(f), repeat
            )
            records = models["off"].predict(frame)
            results[f"MLflow predictions_to_json, {rows} row(s)"] = median_us(
                lambda r=records: predictions_to_json(r, StringIO()), repeat
            )
            results[f"json.dumps (C encoder), {rows} row(s)"] = median_us(
                lambda r=records: json.dumps({"predictions": r}), repeat
            )
        for model in models.values():
            spool = getattr(model.unwrap_python_model(), "_spool", None)
            if spool is not None:
                spool.close()
    for rows in (1, 100):
        off = results[f"predict, logging off, {rows} row(s)"]
        on = results[f"predict, logging spool, {rows} row(s)"]
        results[f"ratio predict logging on / off, {rows} row(s)"] = on / off
    for key, value in results.items():
        print(f"{key:<60} {value:10.1f}")
    return results


if __name__ == "__main__":
    main()
