"""LogWriters in real processes against real SQLite and PostgreSQL stores."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from mlproject.logstore import LogWriter, RejectionRecord, create_store_engine, tables
from tests.conftest import POSTGRES_ADMIN_URL
from tests.support.processes import REPO_ROOT, base_env, stop_process

from .conftest import WORKERS, count_rows, counters_by_name, run_workers
from .workers import record


def test_the_writer_commits_predictions_and_rejections_and_counters_match_the_rows(
    store_url, store_engine_factory
):
    engine = store_engine_factory(store_url)
    writer = LogWriter(engine, flush_interval=0.02)
    writer.start()
    for i in range(50):
        writer.submit_predictions([record("a", i), record("a", 1000 + i)], 0.004)
    for reason in ("not_finite", "not_finite", "missing_column"):
        writer.submit_rejection(
            RejectionRecord(
                datetime.now(UTC), "iris-classifier", "1", None, reason, None, None, "x"
            )
        )
    assert writer.flush(30)
    writer.close()
    counters = counters_by_name(engine)
    assert count_rows(engine) == 100
    assert count_rows(engine, tables.rejections) == 3
    assert counters["iris_predictions_total{model_version=1,prediction=setosa}"] == 100
    assert counters["iris_prediction_errors_total{reason=not_finite}"] == 2
    assert counters["iris_prediction_errors_total{reason=missing_column}"] == 1
    assert counters["iris_prediction_duration_seconds_count{}"] == 50
    assert counters["iris_prediction_duration_seconds_bucket{le=+Inf}"] == 50
    assert counters["iris_prediction_duration_seconds_bucket{le=0.005}"] == 50
    assert counters.get("iris_prediction_duration_seconds_bucket{le=0.0025}", 0) == 0
    assert abs(counters["iris_prediction_duration_seconds_sum{}"] - 0.2) < 1e-9


def test_four_processes_writing_concurrently_give_every_row_exactly_once(
    store_url, store_engine_factory
):
    engine = store_engine_factory(store_url)
    start_at = str(time.time() + 3.0)
    results = run_workers([["write", store_url, f"p{n}", "1000", start_at] for n in range(4)])
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "dropped=0 backlog=0" in result.stdout
        assert "database is locked" not in result.stderr
    with engine.connect() as conn:
        ids = conn.execute(sa.select(tables.predictions.c.request_id)).scalars().all()
    assert len(ids) == 4000
    assert len(set(ids)) == 4000
    assert counters_by_name(engine)[
        "iris_predictions_total{model_version=1,prediction=setosa}"
    ] == (4000)


def _late_store(store_url: str, tmp_path):
    """A URL whose store cannot be reached yet, and a function that makes it reachable."""
    if store_url.startswith("sqlite"):
        blocker = tmp_path / "late"
        blocker.write_text("a file where the store's folder will be")
        return f"sqlite:///{blocker / 'predictions.db'}", blocker.unlink, lambda: None
    name = f"iris_test_late_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")

    def create():
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return store_url.rsplit("/", 1)[0] + f"/{name}", create, drop


def test_a_store_unreachable_at_first_gets_every_row_once_it_is_reachable(store_url, tmp_path):
    url, make_reachable, cleanup = _late_store(store_url, tmp_path)
    try:
        engine = create_store_engine(url)
        writer = LogWriter(engine, flush_interval=0.02, retry_interval=0.1)
        writer.start()
        for i in range(200):
            writer.submit_predictions([record("late", i)], 0.001)
        assert not writer.flush(0.5)
        assert writer.backlog == 200
        make_reachable()
        assert writer.flush(30)
        writer.close()
        assert count_rows(engine) == 200
        assert (
            counters_by_name(engine)["iris_predictions_total{model_version=1,prediction=setosa}"]
            == 200
        )
        engine.dispose()
    finally:
        cleanup()


def test_backlog_overflow_is_counted_in_dropped_and_in_the_counter_after_recovery(
    store_url, tmp_path
):
    url, make_reachable, cleanup = _late_store(store_url, tmp_path)
    try:
        engine = create_store_engine(url)
        writer = LogWriter(engine, max_backlog=100, flush_interval=0.02, retry_interval=0.1)
        writer.start()
        for i in range(130):
            writer.submit_predictions([record("overflow", i)], 0.001)
        assert writer.dropped == 30
        make_reachable()
        assert writer.flush(30)
        writer.close()
        counters = counters_by_name(engine)
        assert count_rows(engine) == 100
        assert counters["iris_prediction_log_dropped_total{}"] == 30
        assert counters["iris_predictions_total{model_version=1,prediction=setosa}"] == 100
        engine.dispose()
    finally:
        cleanup()


def test_a_process_that_exits_normally_right_after_submitting_loses_nothing(
    store_url, store_engine_factory
):
    engine = store_engine_factory(store_url)
    [result] = run_workers([["exit", store_url, "exit", "500"]])
    assert result.returncode == 0, result.stderr
    assert count_rows(engine) == 500


def test_a_process_sent_sigterm_right_after_submitting_loses_nothing(
    store_url, store_engine_factory, tmp_path
):
    engine = store_engine_factory(store_url)
    proc = subprocess.Popen(
        [sys.executable, "-m", WORKERS, "sigterm", store_url, "term", "500"],
        cwd=REPO_ROOT,
        env=base_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout.readline().strip() == "submitted"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM, proc.stderr.read()
    finally:
        stop_process(proc)
    assert count_rows(engine) == 500
