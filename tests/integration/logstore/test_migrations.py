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
        assert schema_differences(conn) == []
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
        assert schema_differences(conn) == []


def schema_differences(conn) -> list:
    """What alembic's autogenerate sees between the database and ``tables.metadata``."""
    context = MigrationContext.configure(
        conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
    )
    return compare_metadata(context, tables.metadata)


def downgrade_then_upgrade(engine, revision: str, check_downgraded) -> None:
    """Downgrade to ``revision``, run ``check_downgraded(conn)``, upgrade to head, compare."""
    from alembic import command

    from mlproject.logstore.schema import alembic_config

    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), revision)
    with engine.connect() as conn:
        assert current_revision(conn) == revision
        check_downgraded(sa.inspect(conn))
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with engine.connect() as conn:
        assert schema_differences(conn) == []


def test_revision_0002_downgrades_to_0001_and_upgrades_again(store_url, store_engine_factory):
    def downgraded(inspector):
        assert "spool_offsets" not in inspector.get_table_names()

    downgrade_then_upgrade(store_engine_factory(store_url), "0001", downgraded)


def test_revision_0003_downgrades_to_0002_and_upgrades_again(store_url, store_engine_factory):
    def downgraded(inspector):
        assert "shadow_predictions" not in inspector.get_table_names()
        assert "role" not in {c["name"] for c in inspector.get_columns("predictions")}

    downgrade_then_upgrade(store_engine_factory(store_url), "0002", downgraded)


def test_revision_0004_downgrades_to_0003_and_upgrades_again(store_url, store_engine_factory):
    def downgraded(inspector):
        assert "row_counts" not in inspector.get_table_names()
        indexes = {index["name"] for index in inspector.get_indexes("predictions")}
        assert "ix_predictions_role_seq" not in indexes

    downgrade_then_upgrade(store_engine_factory(store_url), "0003", downgraded)
