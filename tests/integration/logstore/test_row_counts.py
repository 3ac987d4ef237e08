"""The feedback count kept by triggers (migration 0004) is the table's count after every write."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from benchmarks.logstore_seed import counts, seed
from mlproject.logstore import immediate_transaction, tables
from mlproject.logstore.feedback import Outcome, match_pending, record_feedback
from mlproject.logstore.retention import Retention, purge_step
from sidecar.queries import labelled_total


def kept_and_counted(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return labelled_total(conn), counts(engine.url.render_as_string(False))["feedback"]


def unlabelled_ids(engine, n: int) -> list[str]:
    p, f = tables.predictions, tables.feedback
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(p.c.prediction_id)
                .where(~sa.exists().where(f.c.prediction_id == p.c.prediction_id))
                .order_by(p.c.seq.desc())
                .limit(n)
            ).scalars()
        )


def test_labels_added_replaced_matched_and_purged_keep_the_count_exact(
    store_url, store_engine_factory
):
    now = seed(store_url, 3_000)
    engine = store_engine_factory(store_url)
    kept, counted = kept_and_counted(engine)
    assert kept == counted > 0
    first, second, third = unlabelled_ids(engine, 3)
    with immediate_transaction(engine) as conn:
        assert record_feedback(conn, first, "setosa", now, 3600).outcome is Outcome.RECORDED
        record_feedback(conn, first, "virginica", now, 3600)  # replaced: still one label
        record_feedback(conn, second, "setosa", now, 3600)
    assert kept_and_counted(engine) == (counted + 2, counted + 2)
    with immediate_transaction(engine) as conn:  # a label that waited for its prediction
        conn.execute(
            sa.insert(tables.pending_feedback).values(
                prediction_id=third, label="setosa", created_at=now, updated_at=now
            )
        )
        assert match_pending(conn, now) == 1
    assert kept_and_counted(engine) == (counted + 3, counted + 3)
    # Retention deletes predictions; their labels go by ON DELETE CASCADE.
    with immediate_transaction(engine) as conn:
        assert purge_step(conn, Retention(rows=1_000), datetime.now(UTC)) == 2_000
    kept, counted_now = kept_and_counted(engine)
    assert kept == counted_now < counted


def test_without_a_kept_count_the_labels_are_counted_afresh(store_url, store_engine_factory):
    seed(store_url, 1_000)
    engine = store_engine_factory(store_url)
    with immediate_transaction(engine) as conn:
        conn.execute(sa.delete(tables.row_counts))  # as if the table were new
    with engine.connect() as conn:  # no kept count: counted afresh
        assert labelled_total(conn) == counts(store_url)["feedback"]
