"""The shipper through faults: torn and corrupt frames, refused rows, ambiguous commits."""

from __future__ import annotations

import logging
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from mlproject.logstore import engine as engine_module
from mlproject.logstore import layout, shipper, tables

from .conftest import count_rows, counters_by_name
from .spooling import append_requests, folder_for, open_writer, rejection_frame, request_frame


@pytest.fixture
def store(store_url, store_engine_factory, tmp_path):
    """(engine, spool folder) for a fresh store."""
    return store_engine_factory(store_url), folder_for(tmp_path / "spool", store_url)


def segment_of(folder):
    [path] = list((folder / layout.SEGMENTS).iterdir())
    return path


def test_a_torn_last_frame_of_a_dead_writer_is_skipped_and_the_rest_loaded(store, caplog):
    engine, folder = store
    writer = open_writer(folder)
    ids = append_requests(writer, 20)
    path = segment_of(folder)
    torn, _ = request_frame()
    with path.open("ab") as handle:  # what a kill -9 in the middle of os.write leaves
        handle.write(torn[: len(torn) // 2])
    assert not shipper.Shipper(folder, engine).drain(0.5), "a live writer may finish the frame"
    writer.close()
    with caplog.at_level(logging.WARNING):
        assert shipper.Shipper(folder, engine).drain(30)
    assert "torn bytes" in caplog.text
    with engine.connect() as conn:
        stored = set(conn.execute(sa.select(tables.predictions.c.prediction_id)).scalars())
    assert stored == set(ids)


def test_a_corrupt_frame_in_the_middle_is_skipped_and_the_frames_after_it_are_loaded(store):
    engine, folder = store
    writer = open_writer(folder)
    first = append_requests(writer, 5)
    path = segment_of(folder)
    damaged_at = path.stat().st_size
    middle = append_requests(writer, 1)
    last = append_requests(writer, 5)
    writer.close()
    data = bytearray(path.read_bytes())
    data[damaged_at + 40] ^= 0xFF  # one flipped bit in a payload: the CRC no longer matches
    path.write_bytes(bytes(data))
    assert shipper.Shipper(folder, engine).drain(30)
    with engine.connect() as conn:
        stored = set(conn.execute(sa.select(tables.predictions.c.prediction_id)).scalars())
    assert stored == set(first + last)
    assert not stored & set(middle)


def _poison_trigger(conn: sa.Connection) -> None:
    """Make the store refuse any prediction whose request_id is 'poison'."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            "CREATE TRIGGER poison BEFORE INSERT ON predictions WHEN NEW.request_id = 'poison' "
            "BEGIN SELECT RAISE(ABORT, 'poisoned row'); END"
        )
        return
    conn.exec_driver_sql(
        "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN "
        "IF NEW.request_id = 'poison' THEN RAISE EXCEPTION 'poisoned row'; END IF; "
        "RETURN NEW; END $$ LANGUAGE plpgsql"
    )
    conn.exec_driver_sql(
        "CREATE TRIGGER poison BEFORE INSERT ON predictions FOR EACH ROW EXECUTE FUNCTION poison()"
    )


def test_a_row_the_store_refuses_is_dropped_alone_and_counted(store, caplog):
    engine, folder = store
    with engine.begin() as conn:
        _poison_trigger(conn)
    writer = open_writer(folder)
    good = append_requests(writer, 3) + append_requests(writer, 1, request_id="poison")
    good = good[:3] + append_requests(writer, 4)
    with caplog.at_level(logging.ERROR):
        assert shipper.Shipper(folder, engine).drain(30)
    with engine.connect() as conn:
        stored = set(conn.execute(sa.select(tables.predictions.c.prediction_id)).scalars())
    assert stored == set(good)
    counters = counters_by_name(engine)
    assert counters["iris_prediction_log_dropped_total{}"] == 1
    assert counters["iris_predictions_total{model_version=1,prediction=setosa}"] == 7
    assert "refused a record" in caplog.text
    assert "poison'" not in caplog.text, "no row values (SQL parameters) in the log"
    writer.close()


def test_a_nul_in_a_request_id_is_stored_not_refused(store):
    engine, folder = store
    writer = open_writer(folder)
    append_requests(writer, 1, request_id="a\x00b")
    writer.append(rejection_frame(request_id="c\x00d"), 1)
    assert shipper.Shipper(folder, engine).drain(30)
    with engine.connect() as conn:
        assert conn.execute(sa.select(tables.predictions.c.request_id)).scalar() == "a\ufffdb"
        assert conn.execute(sa.select(tables.rejections.c.request_id)).scalar() == "c\ufffdd"
    assert "iris_prediction_log_dropped_total{}" not in counters_by_name(engine)
    writer.close()


def test_a_commit_that_succeeds_but_reports_an_error_stores_nothing_twice(store, monkeypatch):
    engine, folder = store
    writer = open_writer(folder)
    append_requests(writer, 5)
    writer.append(rejection_frame("negative"), 1)
    real = engine_module.immediate_transaction
    failures = []

    @contextmanager
    def commit_then_fail(engine_):
        with real(engine_) as conn:
            yield conn
        if not failures:  # committed; now the connection "breaks" before the reply
            failures.append(1)
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(shipper, "immediate_transaction", commit_then_fail)
    worker = shipper.Shipper(folder, engine, retry_seconds=0.01)
    assert worker.drain(30)
    assert failures == [1]
    assert count_rows(engine) == 5
    assert count_rows(engine, tables.rejections) == 1
    counters = counters_by_name(engine)
    assert counters["iris_prediction_errors_total{reason=negative}"] == 1
    assert counters["iris_predictions_total{model_version=1,prediction=setosa}"] == 5
    writer.close()


def test_rows_already_in_the_store_are_neither_stored_nor_counted_again(store):
    engine, folder = store
    writer = open_writer(folder)
    append_requests(writer, 4)
    writer.append(rejection_frame("negative"), 1)
    assert shipper.Shipper(folder, engine).drain(30)
    with engine.begin() as conn:  # as if the store were restored without its offsets
        conn.execute(sa.delete(tables.spool_offsets))
    assert shipper.Shipper(folder, engine).drain(30)
    assert count_rows(engine) == 4
    assert count_rows(engine, tables.rejections) == 1
    counters = counters_by_name(engine)
    assert counters["iris_predictions_total{model_version=1,prediction=setosa}"] == 4
    assert counters["iris_prediction_errors_total{reason=negative}"] == 1
    writer.close()


def test_a_failed_commit_discards_the_batch_read_ahead_and_nothing_is_lost(store, monkeypatch):
    engine, folder = store
    writer = open_writer(folder)
    ids = append_requests(writer, 40)
    real = engine_module.immediate_transaction
    calls = []

    @contextmanager
    def fail_some(engine_):
        calls.append(1)
        if len(calls) in (2, 5):  # before or after the commit: the store is the judge
            raise OperationalError("BEGIN", {}, Exception("connection refused"))
        with real(engine_) as conn:
            yield conn
        if len(calls) == 3:
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(shipper, "immediate_transaction", fail_some)
    worker = shipper.Shipper(folder, engine, max_rows=6, retry_seconds=0.01)
    assert worker.drain(60)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(tables.predictions.c.prediction_id)).scalars().all()
    assert sorted(stored) == sorted(ids)
    assert (
        counters_by_name(engine)["iris_predictions_total{model_version=1,prediction=setosa}"] == 40
    )
    writer.close()
