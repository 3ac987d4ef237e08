"""Alembic environment for the log store; runs on the connection the caller hands in."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from alembic import context

from mlproject.logstore.tables import metadata

logger = logging.getLogger(__name__)

# Our own version table, so MLflow's alembic_version is never touched if both share a database.
VERSION_TABLE = "iris_alembic_version"

config = context.config


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode lets future revisions still work there.
        render_as_batch=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Emit SQL for ``alembic upgrade --sql`` without a database."""
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate on the caller's connection, or on a fresh one for the alembic CLI."""
    connection = config.attributes.get("connection")
    if connection is not None:
        # The caller owns the transaction (and the lock around it): a connection already
        # in a transaction makes alembic's begin_transaction() a no-op.
        _configure(connection=connection, transactional_ddl=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic: set sqlalchemy.url, or pass a connection in attributes")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            _configure(connection=conn, transactional_ddl=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
