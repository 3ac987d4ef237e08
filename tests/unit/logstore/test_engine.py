"""The SQLite engine: pragmas, folders, migrations, immediate transactions, health."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from mlproject.logstore import (
    create_store_engine,
    immediate_transaction,
    store_is_reachable,
    tables,
)
from mlproject.logstore.schema import VERSION_TABLE, current_revision, head_revision
from tests.support.faults import set_immutable


def test_sqlite_connections_use_wal_a_busy_timeout_and_foreign_keys(engine):
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_parent_folders_of_a_sqlite_file_are_created(tmp_path):
    path = tmp_path / "a" / "b" / "predictions.db"
    engine = create_store_engine(f"sqlite:///{path}")
    assert path.exists()
    engine.dispose()


def test_the_schema_is_at_head_in_its_own_version_table(engine):
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
        names = sa.inspect(conn).get_table_names()
    assert VERSION_TABLE in names
    assert "alembic_version" not in names


def test_migrating_twice_is_a_no_op(sqlite_url):
    create_store_engine(sqlite_url).dispose()
    with sa.create_engine(sqlite_url).connect() as conn:
        before = conn.exec_driver_sql("SELECT sql FROM sqlite_master ORDER BY name").all()
    engine = create_store_engine(sqlite_url)
    with engine.connect() as conn:
        after = conn.exec_driver_sql("SELECT sql FROM sqlite_master ORDER BY name").all()
        versions = conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").all()
    assert after == before
    assert versions == [(head_revision(),)]
    engine.dispose()


def test_a_migration_blocked_at_start_runs_on_first_use(tmp_path):
    blocker = tmp_path / "late"
    blocker.write_text("a file where the store's folder should be")
    engine = create_store_engine(f"sqlite:///{blocker / 'predictions.db'}")
    reachable, why = store_is_reachable(engine)
    assert not reachable and why
    blocker.unlink()
    assert store_is_reachable(engine) == (True, None)
    with engine.connect() as conn:
        assert "predictions" in sa.inspect(conn).get_table_names()
    engine.dispose()


def test_immediate_transaction_serialises_read_then_write_from_four_threads(engine):
    # Each thread reads the counter and writes it back + 1, 50 times: lost updates or
    # "database is locked" both show up as a final value other than 200.
    key = ("test_counter", "{}")
    with immediate_transaction(engine) as conn:
        conn.execute(sa.insert(tables.counters).values(metric=key[0], labels=key[1], value=0))
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(50):
                with immediate_transaction(engine) as conn:
                    where = tables.counters.c.metric == key[0]
                    value = conn.execute(sa.select(tables.counters.c.value).where(where)).scalar()
                    conn.execute(sa.update(tables.counters).where(where).values(value=value + 1))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(sa.select(tables.counters.c.value)).scalar() == 200


def test_immediate_transaction_rolls_back_on_error(engine):
    with pytest.raises(RuntimeError), immediate_transaction(engine) as conn:
        conn.execute(sa.insert(tables.counters).values(metric="m", labels="{}", value=1))
        raise RuntimeError("boom")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.counters)).scalar() == 0


def test_immediate_transaction_refuses_an_engine_without_our_listeners(sqlite_url):
    create_store_engine(sqlite_url).dispose()
    with pytest.raises(ValueError), immediate_transaction(sa.create_engine(sqlite_url)):
        pass


def test_a_sqlite_store_that_cannot_take_writes_is_not_reachable_even_for_root(tmp_path):
    # SELECT 1 still answers on a read-only file; the health check must not say "reachable".
    database = tmp_path / "store" / "predictions.db"
    engine = create_store_engine(f"sqlite:///{database}")
    assert store_is_reachable(engine) == (True, None)
    set_immutable([database], True)  # chattr +i: refuses root too
    try:
        reachable, why = store_is_reachable(engine)
        assert not reachable and "read-only" in why and "predictions.db" in why
    finally:
        set_immutable([database], False)
    assert store_is_reachable(engine) == (True, None)
    engine.dispose()
