"""A migrated SQLite store for the log store's unit tests."""

from __future__ import annotations

import pytest

from mlproject.logstore import create_store_engine


@pytest.fixture
def engine(sqlite_url):
    """A migrated SQLite log store in tmp_path, disposed afterwards."""
    engine = create_store_engine(sqlite_url)
    yield engine
    engine.dispose()
