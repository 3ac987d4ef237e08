"""Fixtures every test level shares."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from mlproject.challenger.settings import CHALLENGER_ENV_VARS
from mlproject.config import ENV_VARS
from serving.settings import SERVING_ENV_VARS
from sidecar.config import SIDECAR_ENV_VARS

POSTGRES_ADMIN_URL = os.environ.get(
    "IRIS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def clean_project_environment(monkeypatch):
    """No test sees the project's variables from the shell that started pytest."""
    for name in (*ENV_VARS, *SERVING_ENV_VARS, *SIDECAR_ENV_VARS, *CHALLENGER_ENV_VARS):
        monkeypatch.delenv(name, raising=False)
    for name in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
        monkeypatch.delenv(name, raising=False)
    yield


def _postgres_available() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc.__class__.__name__}"


@contextmanager
def _temporary_database(prefix: str):
    """Create a PostgreSQL database, yield its URL, drop it (skip or fail if no server)."""
    reason = _postgres_available()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database for this test, dropped afterwards."""
    with _temporary_database("iris_test") as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path):
    """A SQLite log store URL in this test's temporary folder."""
    return f"sqlite:///{tmp_path / 'predictions.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """Each test using this runs twice: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'predictions.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def shared_postgres_url():
    """One PostgreSQL database for the whole session, migrated once (see clean_postgres_url)."""
    from mlproject.logstore import create_store_engine

    with _temporary_database("iris_shared") as url:
        create_store_engine(url).dispose()
        yield url


@pytest.fixture
def clean_postgres_url(shared_postgres_url):
    """The session's migrated PostgreSQL database with every table emptied for this test.

    Creating a database per test costs over a second on PostgreSQL; emptying the tables
    costs milliseconds. Tests about migrations themselves use ``postgres_url`` instead.
    """
    from mlproject.logstore import tables

    names = ", ".join(f'"{table.name}"' for table in tables.metadata.sorted_tables)
    engine = sa.create_engine(shared_postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL lock_timeout = '20s'"))
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()
    return shared_postgres_url
