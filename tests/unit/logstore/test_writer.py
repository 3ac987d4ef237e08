"""The LogWriter in one process on SQLite: batching, counters, outages, bad rows."""

from __future__ import annotations

import logging
import time

import pytest
import sqlalchemy as sa

from mlproject.logstore import LogWriter, create_store_engine, read_counters, tables

from .conftest import prediction, rejection


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def counter_map(engine) -> dict[tuple[str, str], float]:
    with engine.connect() as conn:
        return {
            (m, ",".join(f"{k}={v}" for k, v in lab.items())): v
            for m, lab, v in read_counters(conn)
        }


@pytest.fixture
def writer(engine):
    writer = LogWriter(engine, flush_interval=0.05, retry_interval=0.05)
    writer.start()
    yield writer
    writer.close()


def test_submitted_rows_are_committed_by_flush(engine, writer):
    for _ in range(10):
        writer.submit_predictions([prediction(), prediction(label="virginica")], 0.003)
    writer.submit_rejection(rejection())
    assert writer.flush(10)
    assert writer.backlog == 0
    assert count(engine, tables.predictions) == 20
    assert count(engine, tables.rejections) == 1
    counters = counter_map(engine)
    assert counters[("iris_predictions_total", "model_version=1,prediction=setosa")] == 10
    assert counters[("iris_predictions_total", "model_version=1,prediction=virginica")] == 10
    assert counters[("iris_prediction_errors_total", "reason=not_finite")] == 1
    # One latency observation per request, not per row.
    assert counters[("iris_prediction_duration_seconds_count", "")] == 10
    assert counters[("iris_prediction_duration_seconds_bucket", "le=+Inf")] == 10


def test_submit_does_not_wait_for_the_database(engine):
    writer = LogWriter(engine, flush_interval=60)  # never started: nothing can be written
    started = time.perf_counter()
    for _ in range(1000):
        writer.submit_predictions([prediction()], 0.001)
    assert time.perf_counter() - started < 1.0
    assert writer.backlog == 1000
    assert not writer.flush(0.1)
    writer.start()
    assert writer.flush(10)
    assert count(engine, tables.predictions) == 1000
    writer.close()


def test_a_prediction_id_submitted_twice_is_logged_and_counted_once(engine, writer):
    record = prediction()
    writer.submit_predictions([record], 0.001)
    assert writer.flush(10)
    writer.submit_predictions([record, prediction()], 0.001)
    assert writer.flush(10)
    assert count(engine, tables.predictions) == 2
    assert counter_map(engine)[("iris_predictions_total", "model_version=1,prediction=setosa")] == 2


def test_a_malformed_record_is_dropped_alone_and_counted(engine, writer, caplog):
    good = [prediction() for _ in range(5)]
    writer.submit_predictions(good[:2], 0.001)
    writer.submit_predictions([prediction(class_index="not a number")], 0.001)
    writer.submit_predictions(good[2:], 0.001)
    with caplog.at_level(logging.ERROR):
        assert writer.flush(10)
    assert count(engine, tables.predictions) == 5
    assert writer.dropped == 1
    assert counter_map(engine)[("iris_prediction_log_dropped_total", "")] == 1
    assert "refused a record" in caplog.text


def test_rows_wait_in_the_queue_while_the_store_is_unreachable(tmp_path, caplog):
    blocker = tmp_path / "late"
    blocker.write_text("not a folder yet")
    engine = create_store_engine(f"sqlite:///{blocker / 'predictions.db'}")
    writer = LogWriter(engine, flush_interval=0.01, retry_interval=0.05)
    writer.start()
    with caplog.at_level(logging.WARNING, logger="mlproject.logstore.writer"):
        for _ in range(20):
            writer.submit_predictions([prediction()], 0.001)
        assert not writer.flush(0.5)
        assert writer.backlog == 20
        blocker.unlink()
        assert writer.flush(10)
    outage_warnings = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(outage_warnings) == 1, "one warning per outage, not one per retry"
    assert count(engine, tables.predictions) == 20
    writer.close()
    engine.dispose()


def test_backlog_overflow_is_counted_and_logged(tmp_path, caplog):
    blocker = tmp_path / "late"
    blocker.write_text("not a folder yet")
    engine = create_store_engine(f"sqlite:///{blocker / 'predictions.db'}")
    writer = LogWriter(engine, max_backlog=10, retry_interval=0.05)
    writer.start()
    with caplog.at_level(logging.WARNING):
        for _ in range(15):
            writer.submit_predictions([prediction()], 0.001)
    assert writer.dropped == 5
    assert "dropped 1 rows (5 dropped in total)" in caplog.text
    blocker.unlink()
    assert writer.flush(10)
    counters = counter_map(engine)
    assert count(engine, tables.predictions) == 10
    assert counters[("iris_prediction_log_dropped_total", "")] == 5
    assert counters[("iris_predictions_total", "model_version=1,prediction=setosa")] == 10
    writer.close()
    engine.dispose()


def test_close_commits_everything_queued(engine):
    writer = LogWriter(engine, flush_interval=60, batch_size=10_000)
    writer.start()
    for _ in range(300):
        writer.submit_predictions([prediction()], 0.001)
    writer.close()
    assert count(engine, tables.predictions) == 300
    writer.submit_predictions([prediction()], 0.001)
    assert writer.dropped == 1, "a closed writer counts what it can no longer take"
