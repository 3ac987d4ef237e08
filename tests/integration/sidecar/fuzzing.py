"""Schemathesis against the real gunicorn sidecar: start it over a seeded store, fuzz, judge.

The sidecar runs as in production (scripts/run-sidecar.sh, two gthread workers) beside
MLflow's real scoring server, so /health answers 200 and any 5xx is a defect. Schemathesis
runs as its CLI (`st run`), exactly as a person would reproduce a finding; what it sent
and got back is kept as a HAR file, and the sidecar's own request counter
(flask_http_request_total, summed over workers) says how many requests it served and with
which status.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from mlproject.config import CLASSES
from mlproject.logstore import (
    LogWriter,
    contract,
    create_store_engine,
    tables,
)
from tests.support.processes import (
    REPO_ROOT,
    VENV_BIN,
    Server,
    base_env,
)
from tests.support.records import prediction_record, rejection_record
from tests.support.stack import start_sidecar

TOKEN = "fuzz-token-5f1d"
TINY_PROJECT = Path(__file__).resolve().parent / "tiny_project"
# Checks: all but positive_data_acceptance, which would call a syntactically valid but
# never-issued cursor (or an unknown prediction id) a failure; those are correct 4xx.
EXCLUDED_CHECKS = "positive_data_acceptance"
# What must never reach a client: a stack trace, SQL, a driver's name, the token.
LEAKS = re.compile(
    r"Traceback|File \"|\[SQL:|sqlalchemy|psycopg|SELECT |INSERT |UPDATE |" + re.escape(TOKEN),
    re.IGNORECASE,
)


@dataclass
class FuzzRun:
    """One `st run`: its exit code, output, the cases it generated and its HAR file."""

    returncode: int
    output: str
    cases: int
    har: Path

    def responses(self) -> list[tuple[str, int, str]]:
        """(request line, status, body text) of every exchange in the HAR file."""
        log = json.loads(self.har.read_text())["log"]
        return [
            (
                f"{e['request']['method']} {e['request']['url']}",
                e["response"]["status"],
                e["response"].get("content", {}).get("text") or "",
            )
            for e in log["entries"]
        ]


def seed_store(store_url: str, count: int = 30) -> None:
    """Predictions, a rejection and a switch, so reads have rows and links have ids."""
    engine = create_store_engine(store_url)
    now = datetime.now(UTC)
    writer = LogWriter(engine)
    writer.start()
    for index in range(count):
        label = CLASSES[index % 3]
        record = prediction_record(
            created_at=now - timedelta(seconds=count - index),
            model_version="1",
            run_id="run-1",
            request_id=f"req-{index}",
            sepal_length=5.0 + index % 10 / 10,
            sepal_width=3.0,
            petal_length=1.5 + index % 3,
            petal_width=0.2 + index % 3 / 2,
            prediction=label,
            class_index=index % 3,
            probabilities={name: 0.9 if name == label else 0.05 for name in CLASSES},
            latency_seconds=0.002,
        )
        writer.submit_predictions([record], record.latency_seconds)
    writer.submit_rejection(
        rejection_record(
            created_at=now,
            model_version="1",
            request_id=None,
            reason="negative",
            field="petal_width",
            row_index=0,
            message="row 0, column 'petal_width': negative",
        )
    )
    assert writer.flush(timeout=30), "the log writer did not commit in time"
    writer.close()
    with engine.begin() as conn:
        conn.execute(
            sa.insert(tables.model_switches).values(
                switched_at=now - timedelta(hours=1),
                model_name="iris-classifier",
                from_version=None,
                to_version="1",
                outcome=contract.SWITCHED,
                reason="first start",
            )
        )
    engine.dispose()


def start_fuzz_sidecar(
    store_url: str, folder: Path, *, tracking_db: Path, scoring_url: str
) -> Server:
    """The sidecar under gunicorn with SIDECAR_TOKEN set, limits opened up for fuzzing.

    The feedback and retrain limits are raised so that cases reach the logic behind them
    (the 429 path has its own tests); the tiny project's training sleeps, so the first
    accepted retrain holds the single-flight slot and later ones answer 409.
    """
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(tracking_db, folder / "mlflow.db")
    server = start_sidecar(
        store_url,
        folder,
        scoring_url=scoring_url,
        token=TOKEN,
        timeout=120,
        extra_env={
            "IRIS_PROJECT_DIR": str(shutil.copytree(TINY_PROJECT, folder / "project")),
            "IRIS_DATA_PATH": str(REPO_ROOT / "data" / "iris.csv"),
            "TINY_TRAIN_SECONDS": "3600",
            "IRIS_FEEDBACK_RATE_PER_MINUTE": "1000000",
            "IRIS_FEEDBACK_BURST": "100000",
            "IRIS_RETRAIN_RATE_PER_MINUTE": "1000000",
            "IRIS_RETRAIN_BURST": "100000",
        },
    )
    try:
        warm_up(server)
    except Exception:
        server.stop()
        raise
    return server


def warm_up(server: Server) -> None:
    """Let each worker make its first registry lookups before the clock starts.

    A worker's first /api/overview imports MLflow and opens the local registry (seconds
    on a busy machine): a cold start, not what each request costs.
    """
    with ThreadPoolExecutor(max_workers=4) as pool:
        for response in pool.map(
            lambda path: requests.get(f"{server.url}{path}", timeout=120),
            ["/api/overview"] * 6 + ["/drift"] * 2,
        ):
            assert response.status_code == 200, response.text


def run_schemathesis(
    server: Server, folder: Path, *, token: bool, max_examples: int, seed: int
) -> FuzzRun:
    """`st run` against the server's /openapi.json, with or without the bearer token."""
    har = folder / f"schemathesis-{'token' if token else 'anonymous'}-{seed}.har"
    args = [
        str(VENV_BIN / "st"),
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        EXCLUDED_CHECKS,
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--wait-for-schema",
        "60",
        "--report",
        "har",
        "--report-har-path",
        str(har),
        "--output-sanitize",
        "false",
        "--no-color",
    ]
    if token:
        args += ["--header", f"Authorization: Bearer {TOKEN}"]
    result = subprocess.run(
        args, cwd=folder, env=base_env(), capture_output=True, text=True, timeout=3600
    )
    output = result.stdout + result.stderr
    (folder / f"{har.stem}.txt").write_text(output)
    generated = re.search(r"(\d+) generated", output)
    return FuzzRun(result.returncode, output, int(generated.group(1)) if generated else 0, har)


def served_by_status(server: Server) -> Counter:
    """Requests the sidecar answered so far, by status code (all workers)."""
    text = requests.get(f"{server.url}/metrics", timeout=30).text
    served: Counter = Counter()
    for family in text_string_to_metric_families(text):
        if family.name == "flask_http_request":
            for sample in family.samples:
                if sample.name == "flask_http_request_total":
                    served[int(sample.labels["status"])] += int(sample.value)
    return served
