"""Retention: the shipper purges old predictions in small batches while it keeps loading."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from mlproject.logstore import immediate_transaction, tables
from mlproject.logstore.feedback import record_feedback
from mlproject.logstore.retention import Retention, purge_step
from mlproject.logstore.shipper import Shipper

from .conftest import count_rows, counters_by_name
from .spooling import append_requests, folder_for, open_writer, rejection_frame


@pytest.fixture
def store(store_url, store_engine_factory, tmp_path):
    """(engine, spool folder) for a fresh store."""
    return store_engine_factory(store_url), folder_for(tmp_path / "spool", store_url)


def stored_ids(engine) -> list[str]:
    with engine.connect() as conn:
        query = sa.select(tables.predictions.c.prediction_id).order_by(tables.predictions.c.seq)
        return list(conn.scalars(query))


def purge_all(engine, retention: Retention, now=None) -> list[int]:
    """Purge steps until caught up; the rows each step removed."""
    steps = []
    while True:
        with immediate_transaction(engine) as conn:
            gone = purge_step(conn, retention, now or datetime.now(UTC))
        steps.append(gone)
        if gone == 0:
            return steps


def test_a_row_limit_keeps_the_newest_rows_in_bounded_batches_with_their_feedback(store):
    engine, folder = store
    writer = open_writer(folder)
    ids = append_requests(writer, 300)
    assert Shipper(folder, engine).drain(30)
    now = datetime.now(UTC)
    with immediate_transaction(engine) as conn:
        for prediction_id in ids[:10] + ids[-10:]:
            record_feedback(conn, prediction_id, "setosa", now, 3600)

    steps = purge_all(engine, Retention(rows=100, batch=40))

    assert steps == [40, 40, 40, 40, 40, 0]
    assert stored_ids(engine) == ids[-100:]
    with engine.connect() as conn:
        labelled = set(conn.scalars(sa.select(tables.feedback.c.prediction_id)))
    assert labelled == set(ids[-10:])  # the purged rows' labels went with them
    counters = counters_by_name(engine)
    total = sum(v for k, v in counters.items() if k.startswith("iris_predictions_total"))
    assert total == 300  # counters are totals: a purge does not rewrite history
    writer.close()


def test_an_age_limit_purges_old_predictions_and_rejections_only(store):
    engine, folder = store
    writer = open_writer(folder)
    ids = append_requests(writer, 50)
    assert writer.append(rejection_frame(), 0, 0.0)
    assert writer.append(rejection_frame(), 0, 0.0)
    assert Shipper(folder, engine).drain(30)
    old = datetime.now(UTC) - timedelta(days=40)
    with immediate_transaction(engine) as conn:
        p, r = tables.predictions, tables.rejections
        conn.execute(p.update().where(p.c.prediction_id.in_(ids[:20])).values(created_at=old))
        first = conn.execute(sa.select(sa.func.min(r.c.seq))).scalar()
        conn.execute(r.update().where(r.c.seq == first).values(created_at=old))

    steps = purge_all(engine, Retention(days=30, batch=1000))

    assert sum(steps) == 21
    assert stored_ids(engine) == ids[20:]
    assert count_rows(engine, tables.rejections) == 1
    writer.close()


def test_no_limit_purges_nothing(store):
    engine, folder = store
    writer = open_writer(folder)
    append_requests(writer, 20)
    assert Shipper(folder, engine).drain(30)
    assert purge_all(engine, Retention()) == [0]
    assert count_rows(engine) == 20
    writer.close()


def test_the_shipper_purges_between_loads_without_holding_up_ingest(store):
    engine, folder = store
    writer = open_writer(folder)
    shipper = Shipper(folder, engine, expire_every=0.05, retention=Retention(rows=500, batch=200))
    thread = threading.Thread(target=shipper.run, daemon=True)
    thread.start()
    ids: list[str] = []
    try:
        for _ in range(30):  # 3,000 rows arriving over ~1.5 s while the purge runs
            ids += append_requests(writer, 100)
            time.sleep(0.05)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if shipper.backlog_bytes() == 0 and count_rows(engine) <= 500:
                break
            time.sleep(0.1)
    finally:
        shipper.stop.set()
        thread.join(30)
        writer.close()
    assert stored_ids(engine) == ids[-500:]
    assert shipper.housekeeping.purged_rows == 2500
    counters = counters_by_name(engine)
    assert sum(v for k, v in counters.items() if k.startswith("iris_predictions_total")) == 3000


def test_negative_limits_are_refused():
    with pytest.raises(ValueError, match="IRIS_LOG_RETENTION"):
        Retention(days=-1)
