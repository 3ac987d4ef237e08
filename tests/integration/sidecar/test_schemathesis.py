"""Schemathesis against the running sidecar, with and without the token: never a 5xx.

`make test` runs a bounded slice (a few hundred cases a run); `make fuzz` (``pytest -m
full``) runs at least 5,000 cases each way on each store, over 10,000 per store. After
each run the sidecar must still be healthy, must have served no status >= 500 (its own
counter says so, not only the fuzzer), and no response or log line may carry a stack
trace, SQL or the token.
"""

from __future__ import annotations

import signal
import time

import pytest
import requests
import sqlalchemy as sa

from mlproject.logstore import tables
from tests.support.processes import kill_group
from tests.support.stack import sqlite_tracking_uri, start_scoring, train

from .fuzzing import (
    LEAKS,
    TOKEN,
    run_schemathesis,
    seed_store,
    served_by_status,
    start_fuzz_sidecar,
)

pytestmark = pytest.mark.slow

SLICE_EXAMPLES = 3  # per operation and mode: a few hundred cases in all, in seconds
FULL_EXAMPLES = 300  # per operation and mode: some 4,000 to 5,000 cases a run
FULL_CASES = 5_000  # each way, so over 10,000 per store and 20,000 in all
SEED = 20261128


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A trained champion (logistic regression only: the fastest candidate)."""
    folder = tmp_path_factory.mktemp("fuzz-registry")
    tracking_uri = sqlite_tracking_uri(folder)
    train(tracking_uri, folder, "--candidates", "logistic_regression", "--cv-folds", "2")
    return folder / "mlflow.db"


@pytest.fixture(scope="module")
def scoring(registry, tmp_path_factory):
    """MLflow's real scoring server for the champion: /health needs it to say "ok"."""
    folder = tmp_path_factory.mktemp("fuzz-scoring")
    server = start_scoring(
        f"sqlite:///{registry}",
        f"sqlite:///{folder / 'predictions.db'}",
        folder,
        extra_env={"IRIS_PREDICTION_LOGGING": "false"},
    )
    yield server
    server.stop()


def job_pids(store_url: str) -> list[int]:
    """Process ids of the training runs the fuzzing started."""
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            pids = conn.execute(sa.select(tables.retrain_jobs.c.pid)).scalars().all()
    finally:
        engine.dispose()
    return [pid for pid in pids if pid]


@pytest.fixture
def fuzz_target(request, tmp_path, registry, scoring):
    """A seeded store (SQLite or PostgreSQL) and the sidecar over it; jobs killed after."""
    store_url = (
        f"sqlite:///{tmp_path / 'predictions.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    seed_store(store_url)
    server = start_fuzz_sidecar(
        store_url, tmp_path / "sidecar", tracking_db=registry, scoring_url=scoring.url
    )
    yield server, store_url
    for pid in job_pids(store_url):
        kill_group(pid, signal.SIGKILL)
    server.stop()


def fuzz_and_judge(
    server, folder, *, token: bool, max_examples: int, seed: int = SEED, min_cases: int = 1
) -> int:
    """One schemathesis run judged in full; returns the cases it generated."""
    before = served_by_status(server)
    started = time.monotonic()
    run = run_schemathesis(server, folder, token=token, max_examples=max_examples, seed=seed)
    seconds = time.monotonic() - started
    mode = "with" if token else "without"
    print(f"schemathesis {mode} token: {run.cases} cases in {seconds:.0f} s")
    if run.returncode != 0:
        pytest.fail(f"schemathesis found failures:\n{run.output[-8000:]}", pytrace=False)
    assert run.cases >= min_cases, run.output[-3000:]

    # The sidecar's own count (GET /metrics itself is not counted, hence no equality).
    served = served_by_status(server) - before
    print(f"sidecar served {sum(served.values())} requests: {dict(sorted(served.items()))}")
    assert sum(served.values()) >= run.cases // 2
    assert {status: n for status, n in served.items() if status >= 500} == {}

    exchanges = run.responses()
    assert len(exchanges) >= run.cases
    assert [(line, status) for line, status, _ in exchanges if status >= 500] == []
    assert [(line, status) for line, status, body in exchanges if LEAKS.search(body)] == []
    log = server.output()
    assert "Traceback" not in log and "[SQL:" not in log and TOKEN not in log

    assert server.process.poll() is None, "gunicorn died"
    health = requests.get(f"{server.url}/health", timeout=30)
    assert health.status_code == 200, health.text
    assert requests.get(f"{server.url}/logs?limit=5", timeout=30).status_code == 200
    return run.cases


# The slice: the token's writes on PostgreSQL (the stricter store), anonymous on SQLite.
@pytest.mark.parametrize(
    ("fuzz_target", "token"),
    [("postgresql", True), ("sqlite", False)],
    ids=["postgresql-with-token", "sqlite-without-token"],
    indirect=["fuzz_target"],
)
def test_a_bounded_fuzz_run_finds_no_server_error(fuzz_target, tmp_path, token):
    server, _ = fuzz_target
    fuzz_and_judge(server, tmp_path, token=token, max_examples=SLICE_EXAMPLES, min_cases=200)


@pytest.mark.full
@pytest.mark.timeout(7200)
@pytest.mark.parametrize("fuzz_target", ["sqlite", "postgresql"], indirect=True)
def test_over_ten_thousand_fuzz_cases_per_store_find_no_server_error(fuzz_target, tmp_path):
    server, _ = fuzz_target
    for token in (True, False):
        # Cases per run vary with the machine's load, so runs (new seeds) add up to the target.
        total, seed = 0, SEED
        while total < FULL_CASES:
            total += fuzz_and_judge(
                server, tmp_path, token=token, max_examples=FULL_EXAMPLES, seed=seed
            )
            seed += 1
        print(f"{'with' if token else 'without'} token: {total} cases in all")
