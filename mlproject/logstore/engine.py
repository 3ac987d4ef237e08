"""Engines for the log store: SQLite tuned for concurrent writers, schema migrated on first use."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry

from mlproject.logstore import schema

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_SECONDS = 30.0
# Execution option read by the SQLite "begin" listener: which BEGIN to emit.
_BEGIN_OPTION = "iris_sqlite_begin"
# Key of the PostgreSQL session advisory lock held around migrations (any fixed int64).
_PG_MIGRATION_LOCK = 0x1215_0C0D_5EED_0001

# Engines whose schema is not yet known to be at head, and why the last attempt failed.
_pending: weakref.WeakKeyDictionary[sa.Engine, str | None] = weakref.WeakKeyDictionary()
_migration_lock = threading.RLock()
_reentry = threading.local()


def create_store_engine(url: str, *, migrate: bool = True) -> sa.Engine:
    """Build the engine for the log store at ``url`` and migrate it to head on first use.

    An unreachable store is not an error here: the migration is retried on the next use,
    so a model can load (and keep serving) before its log store exists.
    """
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        engine = _sqlite_engine(sa_url)
    else:
        # pre_ping: a writer outliving a database restart must not fail its next batch.
        # hide_parameters: an error message must never carry the rows (or their text).
        engine = sa.create_engine(sa_url, pool_pre_ping=True, hide_parameters=True)
    if migrate:
        _pending[engine] = None
        event.listen(engine, "engine_connect", _migrate_on_connect)
        try:
            ensure_schema(engine)
        except (SQLAlchemyError, OSError) as exc:
            logger.warning(
                "log store %s not reachable yet, will migrate on first use: %s",
                engine.url.render_as_string(hide_password=True),
                _describe(exc),
            )
    return engine


def ensure_schema(engine: sa.Engine) -> None:
    """Migrate ``engine``'s database to head unless already done; raises if unreachable."""
    if engine not in _pending:
        return
    with _migration_lock:
        if engine not in _pending:
            return
        _reentry.active = True
        try:
            _upgrade_with_lock(engine)
        except Exception as exc:
            _pending[engine] = _describe(exc)
            raise
        finally:
            _reentry.active = False
        del _pending[engine]


@contextmanager
def immediate_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in a transaction that, on SQLite, holds the write lock from its start.

    A deferred SQLite transaction that reads and then writes cannot wait for the lock once
    another writer got in between (busy_timeout does not help), so it fails with "database
    is locked"; BEGIN IMMEDIATE waits for the lock up front instead.
    """
    ensure_schema(engine)
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    if not event.contains(engine, "begin", _sqlite_begin):
        raise ValueError("immediate_transaction needs an engine from create_store_engine")
    with engine.connect() as conn:
        conn.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})
        with conn.begin():
            yield conn


def store_is_reachable(engine: sa.Engine) -> tuple[bool, str | None]:
    """(True, None) when the store answers and its schema is migrated, else (False, why)."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        return False, _describe(exc)
    if engine in _pending:
        return False, f"schema not migrated: {_pending.get(engine) or 'pending'}"
    read_only = sqlite_read_only(engine.url)
    if read_only:
        return False, read_only
    return True, None


def sqlite_read_only(url: URL) -> str | None:
    """Why a SQLite store cannot take writes (its folder or files are not writable), or None.

    ``SELECT 1`` still answers on a read-only SQLite file while every write fails, so a
    health check that stopped there would say "reachable" while predictions pile up in
    the spool. ``os.access`` asks the kernel, which also refuses root on a read-only mount
    or an immutable file.
    """
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = Path(url.database)
    for path in (database.parent, database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if path.exists() and not os.access(path, os.W_OK):
            return f"the SQLite store is read-only ({path.name} is not writable)"
    return None


def _describe(exc: BaseException) -> str:
    # First line only: driver messages carry SQL and background links that flood logs.
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _migrate_on_connect(conn: sa.Connection) -> None:
    # Any first connection (e.g. a sidecar reading before the writer ran) migrates the
    # store. Never raise here: the query that follows reports the problem properly.
    if getattr(_reentry, "active", False) or conn.engine not in _pending:
        return
    try:
        ensure_schema(conn.engine)
    except Exception as exc:  # noqa: BLE001 - see above
        logger.debug("log store migration deferred: %s", _describe(exc))


def _upgrade_with_lock(engine: sa.Engine) -> None:
    dialect = engine.dialect.name
    for attempt in range(1, 4):
        try:
            if dialect == "postgresql":
                _upgrade_postgresql(engine)
            elif dialect == "sqlite":
                _upgrade_sqlite(engine)
            else:
                with engine.begin() as conn:
                    schema.upgrade_on(conn)
            return
        except SQLAlchemyError as exc:
            # Another process created the tables between our check and our DDL (only
            # possible on databases without a lock here): re-check the revision and go on.
            if "already exists" not in str(exc) or attempt == 3:
                raise
            logger.info("log store migrated concurrently, re-checking: %s", _describe(exc))
            time.sleep(0.1 * attempt)


def _upgrade_postgresql(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        # Cheap check first so many processes starting at once don't queue on the lock.
        if schema.current_revision(conn) == schema.head_revision():
            conn.rollback()
            return
        conn.rollback()
        # Session-level lock: held across the DDL transaction, released explicitly below.
        conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        conn.commit()
        try:
            with conn.begin():
                schema.upgrade_on(conn)
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_MIGRATION_LOCK})
            conn.commit()


def _upgrade_sqlite(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        if schema.current_revision(conn) == schema.head_revision():
            conn.rollback()
            return
        conn.rollback()
        # SQLite DDL is transactional: the write lock makes the whole upgrade one atomic step,
        # and a second process waits here, then finds the revision at head.
        conn.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})
        with conn.begin():
            schema.upgrade_on(conn)


def _sqlite_file(sa_url: URL) -> Path | None:
    database = sa_url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def _sqlite_engine(sa_url: URL) -> sa.Engine:
    path = _sqlite_file(sa_url)
    engine = sa.create_engine(
        sa_url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS}, hide_parameters=True
    )

    @event.listens_for(engine, "do_connect")
    def _make_parent_folder(
        dialect: sa.Dialect,
        conn_rec: ConnectionPoolEntry,
        cargs: list[object],
        cparams: dict[str, object],
    ) -> None:
        # On every connect, not once: a folder that cannot be made yet may be possible later.
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_on_connect(
    dbapi_conn: sqlite3.Connection, connection_record: ConnectionPoolEntry
) -> None:
    # Stop pysqlite from issuing its own BEGIN/COMMIT: the "begin" listener controls it.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    try:
        # busy_timeout first: switching to WAL itself needs a lock other processes may hold.
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))
