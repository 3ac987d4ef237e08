"""The shipper against real SQLite and PostgreSQL stores: exactly once, counters exact."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from mlproject.logstore import layout, tables
from mlproject.logstore.drain import backlog, wait_drained
from mlproject.logstore.shipper import Shipper

from .conftest import count_rows, counters_by_name
from .spooling import append_requests, folder_for, open_writer, rejection_frame

SETOSA_V1 = "iris_predictions_total{model_version=1,prediction=setosa}"


@pytest.fixture
def store(store_url, store_engine_factory, tmp_path):
    """(engine, spool folder) for a fresh store."""
    return store_engine_factory(store_url), folder_for(tmp_path / "spool", store_url)


def test_spooled_requests_and_rejections_are_stored_once_with_exact_counters(store):
    engine, folder = store
    writer = open_writer(folder)
    ids = append_requests(writer, 50, rows=2) + append_requests(writer, 10, rows=1)
    for reason in ("negative", "negative", "missing_column"):
        assert writer.append(rejection_frame(reason), 1)
    assert Shipper(folder, engine).drain(30)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(tables.predictions.c.prediction_id)).scalars().all()
    assert sorted(stored) == sorted(ids) and len(stored) == 110
    counters = counters_by_name(engine)
    assert counters[SETOSA_V1] == 110
    assert counters["iris_prediction_errors_total{reason=negative}"] == 2
    assert counters["iris_prediction_errors_total{reason=missing_column}"] == 1
    assert counters["iris_prediction_duration_seconds_count{}"] == 60  # one per request
    assert counters["iris_prediction_duration_seconds_bucket{le=0.005}"] == 60
    assert counters.get("iris_prediction_duration_seconds_bucket{le=0.0025}", 0) == 0
    assert abs(counters["iris_prediction_duration_seconds_sum{}"] - 0.24) < 1e-9
    writer.close()


def test_rows_read_back_as_the_sidecar_reads_them(store):
    engine, folder = store
    writer = open_writer(folder, version="7")
    [prediction_id] = append_requests(writer, 1, request_id="client-1")
    assert Shipper(folder, engine).drain(30)
    with engine.connect() as conn:
        row = conn.execute(sa.select(tables.predictions)).one()
    assert row.prediction_id == prediction_id
    assert (row.model_version, row.request_id, row.prediction, row.class_index) == (
        "7",
        "client-1",
        "setosa",
        0,
    )
    assert row.probabilities == {"setosa": 0.9, "versicolor": 0.06, "virginica": 0.04}
    assert (row.sepal_length, row.petal_width) == (5.1, 0.2)
    assert row.created_at.year >= 2025
    writer.close()


def test_a_restarted_shipper_loads_nothing_twice(store):
    engine, folder = store
    writer = open_writer(folder)
    append_requests(writer, 30)
    assert Shipper(folder, engine).drain(30)
    append_requests(writer, 20)
    second = Shipper(folder, engine)  # fresh process state: offsets come from the store
    assert second.drain(30)
    assert count_rows(engine) == 50
    assert counters_by_name(engine)[SETOSA_V1] == 50
    writer.close()


def test_a_finished_segment_is_removed_with_its_offset_once_loaded(store):
    engine, folder = store
    writer = open_writer(folder)
    append_requests(writer, 5)
    writer.close()  # the writer is gone: its files can go once loaded
    shipper = Shipper(folder, engine)
    assert shipper.drain(30)
    shipper.ship_once()
    assert list((folder / layout.SEGMENTS).iterdir()) == []
    assert list((folder / layout.DROPS).iterdir()) == []
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(tables.spool_offsets)).scalar() == 0
        )
    assert count_rows(engine) == 5


def test_segments_rotate_and_every_one_is_loaded(store):
    engine, folder = store
    writer = open_writer(folder, segment_bytes=4096)
    ids = append_requests(writer, 200)
    assert len(list((folder / layout.SEGMENTS).iterdir())) > 3
    assert Shipper(folder, engine, max_rows=37).drain(60)
    assert count_rows(engine) == len(ids) == 200
    writer.close()


def test_backlog_and_wait_drained_tell_when_everything_is_stored(store):
    engine, folder = store
    writer = open_writer(folder)
    append_requests(writer, 10)
    assert backlog(folder, engine) > 0
    assert not wait_drained(folder, engine, timeout=0.2)
    Shipper(folder, engine).drain(30)
    assert backlog(folder, engine) == 0
    assert wait_drained(folder, engine, timeout=1)
    writer.close()


def test_a_spool_over_its_bound_drops_and_counts_every_request(store):
    engine, folder = store
    writer = open_writer(folder, max_bytes=3000)
    kept = 0
    for _ in range(100):
        frame_ids = append_or_drop(writer)
        kept += frame_ids
    assert 0 < kept < 100
    assert writer.dropped == 100 - kept
    assert Shipper(folder, engine).drain(30)
    counters = counters_by_name(engine)
    assert count_rows(engine) == kept
    assert counters["iris_prediction_log_dropped_total{}"] == 100 - kept
    # Dropped requests were answered: their latency is still observed.
    assert counters["iris_prediction_duration_seconds_count{}"] == 100
    writer.close()


def test_a_writer_over_its_bound_accepts_again_once_the_shipper_caught_up(store):
    # The bound is smaller than a segment, so the writer's own live segment is what fills
    # it; once that is shipped the spool is empty and requests must be spooled again.
    engine, folder = store
    writer = open_writer(folder, max_bytes=3000)
    kept = dropped = 0
    while not dropped:
        appended = append_or_drop(writer)
        kept, dropped = kept + appended, dropped + (1 - appended)
    shipper = Shipper(folder, engine)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert shipper.drain(30)
        if append_or_drop(writer):
            kept += 1
            break
        dropped += 1
        time.sleep(0.2)
    else:
        pytest.fail("the writer kept dropping for 30 s after its spool was shipped")
    assert shipper.drain(30)
    assert count_rows(engine) == kept
    assert counters_by_name(engine)["iris_prediction_log_dropped_total{}"] == dropped
    writer.close()


def append_or_drop(writer) -> int:
    from .spooling import request_frame

    frame, _ = request_frame()
    return 1 if writer.append(frame, 1, 0.004) else 0
