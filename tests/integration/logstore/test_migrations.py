"""The alembic migrations against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from mlproject.logstore import tables
from mlproject.logstore.schema import VERSION_TABLE, current_revision, head_revision

from .conftest import run_workers


def test_migrations_create_exactly_the_schema_of_tables_py(store_url, store_engine_factory):
    engine = store_engine_factory(store_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        assert compare_metadata(context, tables.metadata) == []
        inspector = sa.inspect(conn)
        assert set(inspector.get_table_names()) == {*tables.metadata.tables, VERSION_TABLE}
        uniques = inspector.get_unique_constraints("retrain_jobs")
        assert [u["column_names"] for u in uniques] == [["active_slot"]]
        [fk] = inspector.get_foreign_keys("feedback")
        assert fk["referred_table"] == "predictions"
        assert fk["options"].get("ondelete") == "CASCADE"


def test_migrating_twice_is_a_no_op(store_url, store_engine_factory):
    store_engine_factory(store_url).dispose()
    engine = store_engine_factory(store_url)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
        versions = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    assert versions == [(head_revision(),)]


def test_four_processes_migrating_a_fresh_database_at_once_all_succeed(
    store_url, store_engine_factory
):
    start_at = str(time.time() + 3.0)
    results = run_workers([["migrate", store_url, start_at] for _ in range(4)])
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "migrated" in result.stdout
    engine = store_engine_factory(store_url, migrate=False)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()
        context = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        assert compare_metadata(context, tables.metadata) == []


def test_revision_0002_downgrades_to_0001_and_upgrades_again(store_url, store_engine_factory):
    from alembic import command

    from mlproject.logstore.schema import alembic_config

    engine = store_engine_factory(store_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001")
    with engine.connect() as conn:
        assert current_revision(conn) == "0001"
        assert "spool_offsets" not in sa.inspect(conn).get_table_names()
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        assert compare_metadata(context, tables.metadata) == []


def test_revision_0003_downgrades_to_0002_and_upgrades_again(store_url, store_engine_factory):
    from alembic import command

    from mlproject.logstore.schema import alembic_config

    engine = store_engine_factory(store_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0002")
    with engine.connect() as conn:
        assert current_revision(conn) == "0002"
        names = sa.inspect(conn).get_table_names()
        assert "shadow_predictions" not in names
        assert "role" not in {c["name"] for c in sa.inspect(conn).get_columns("predictions")}
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        assert compare_metadata(context, tables.metadata) == []
