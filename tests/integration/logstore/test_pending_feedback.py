"""Feedback that arrives before its prediction: held, matched by the shipper, expired."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from mlproject.logstore import immediate_transaction, tables
from mlproject.logstore.feedback import Outcome, expire_pending, record_feedback
from mlproject.logstore.ids import IdSource
from mlproject.logstore.shipper import Shipper

from .conftest import count_rows, counters_by_name
from .spooling import append_requests, folder_for, open_writer

WINDOW = 3600.0


@pytest.fixture
def store(store_url, store_engine_factory, tmp_path):
    """(engine, spool folder) for a fresh store."""
    return store_engine_factory(store_url), folder_for(tmp_path / "spool", store_url)


def label(engine, prediction_id, value="setosa", now=None, window=WINDOW):
    with immediate_transaction(engine) as conn:
        return record_feedback(conn, prediction_id, value, now or datetime.now(UTC), window)


def feedback_rows(engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(tables.feedback.c.prediction_id, tables.feedback.c.label))
        return dict(rows.all())


def test_a_label_for_a_stored_prediction_is_recorded_and_a_second_replaces_it(store):
    engine, folder = store
    writer = open_writer(folder)
    [prediction_id] = append_requests(writer, 1)
    Shipper(folder, engine).drain(30)
    first = label(engine, prediction_id, "setosa")
    second = label(engine, prediction_id, "virginica")
    assert (first.outcome, first.prediction, first.model_version) == (
        Outcome.RECORDED,
        "setosa",
        "1",
    )
    assert (second.outcome, second.replaced_label) == (Outcome.RECORDED, "setosa")
    assert feedback_rows(engine) == {prediction_id: "virginica"}
    assert counters_by_name(engine)["iris_feedback_total{}"] == 2
    writer.close()


def test_a_label_sent_before_its_prediction_is_stored_waits_and_is_matched_on_arrival(store):
    engine, folder = store
    writer = open_writer(folder)
    ids = append_requests(writer, 150)  # answered, still in the spool
    outcomes = {label(engine, pid, "versicolor").outcome for pid in ids}
    assert outcomes == {Outcome.PENDING}
    assert feedback_rows(engine) == {}
    assert Shipper(folder, engine).drain(30)
    assert feedback_rows(engine) == dict.fromkeys(ids, "versicolor")
    assert count_rows(engine, tables.pending_feedback) == 0
    assert counters_by_name(engine)["iris_feedback_total{}"] == 150
    writer.close()


def test_a_later_pending_label_replaces_an_earlier_one(store):
    engine, folder = store
    writer = open_writer(folder)
    [prediction_id] = append_requests(writer, 1)
    label(engine, prediction_id, "setosa")
    label(engine, prediction_id, "virginica")
    Shipper(folder, engine).drain(30)
    assert feedback_rows(engine) == {prediction_id: "virginica"}
    writer.close()


def test_a_dated_id_older_than_the_window_is_unknown_and_an_undated_one_waits(store):
    engine, _ = store
    [old] = IdSource().take(1)[1]
    later = datetime.now(UTC) + timedelta(seconds=WINDOW + 60)
    assert label(engine, old, now=later).outcome is Outcome.UNKNOWN
    assert label(engine, str(uuid.uuid4())).outcome is Outcome.PENDING
    assert count_rows(engine, tables.pending_feedback) == 1


def test_pending_labels_past_the_window_are_dropped_and_counted(store):
    engine, _ = store
    now = datetime.now(UTC)
    for _ in range(3):
        label(engine, str(uuid.uuid4()), now=now - timedelta(seconds=WINDOW + 5))
    label(engine, IdSource().take(1)[1][0], now=now)
    with immediate_transaction(engine) as conn:
        assert expire_pending(conn, now, WINDOW) == 3
    assert count_rows(engine, tables.pending_feedback) == 1
    assert counters_by_name(engine)["iris_feedback_unmatched_total{}"] == 3


def test_labels_racing_the_shipper_are_never_left_pending_beside_their_prediction(store):
    engine, folder = store
    writer = open_writer(folder)
    ids = append_requests(writer, 300)
    shipper = Shipper(folder, engine, max_rows=7)  # many small transactions to race against
    done = threading.Event()

    def ship():
        shipper.drain(60)
        done.set()

    thread = threading.Thread(target=ship)
    thread.start()
    for prediction_id in ids:
        label(engine, prediction_id, "virginica")
    thread.join(60)
    assert done.is_set()
    shipper.ship_once()
    assert count_rows(engine, tables.pending_feedback) == 0
    assert feedback_rows(engine) == dict.fromkeys(ids, "virginica")
    writer.close()
