"""Helpers to run the log store's worker processes and read what they left behind."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa

from mlproject.logstore import create_store_engine, read_counters, tables
from tests.support.processes import REPO_ROOT, base_env

WORKERS = "tests.integration.logstore.workers"


def run_workers(argvs: list[list[str]], timeout: float = 120) -> list[subprocess.CompletedProcess]:
    """Start one worker per argv at once, wait for all, return their results."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", WORKERS, *argv],
            cwd=REPO_ROOT,
            env=base_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    results = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def count_rows(engine: sa.Engine, table: sa.Table = tables.predictions) -> int:
    """How many rows ``table`` holds."""
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def counters_by_name(engine: sa.Engine) -> dict[str, float]:
    """Counter values keyed by 'metric{k=v,...}'."""
    with engine.connect() as conn:
        return {
            metric + "{" + ",".join(f"{k}={v}" for k, v in labels.items()) + "}": value
            for metric, labels, value in read_counters(conn)
        }


@pytest.fixture
def store_engine_factory():
    """Build raw engines that are disposed after the test (so PostgreSQL can drop the DB)."""
    engines: list[sa.Engine] = []

    def make(url: str, **kwargs) -> sa.Engine:
        engine = create_store_engine(url, **kwargs)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()
