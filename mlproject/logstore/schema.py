"""Alembic plumbing for the log store: config built in code, revisions, upgrade on a connection."""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
VERSION_TABLE = "iris_alembic_version"


def alembic_config(connection: sa.Connection | None = None, url: str | None = None) -> Config:
    """An alembic Config pointing at the packaged migrations; no alembic.ini involved."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation would choke on a "%" in a password.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision shipped with this package."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(conn: sa.Connection) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade_on(conn: sa.Connection) -> bool:
    """Upgrade to head inside the caller's transaction; True when anything ran."""
    if current_revision(conn) == head_revision():
        return False
    logger.info("migrating the log store to %s", head_revision())
    command.upgrade(alembic_config(conn), "head")
    return True
