"""Sidecar unit fixtures: an app per test, over its own log store, via the Flask test client."""

from __future__ import annotations

import csv

import pytest

from mlproject.config import FEATURES, Settings
from sidecar import create_app
from sidecar.config import SIDECAR_ENV_VARS, SidecarSettings

TOKEN = "test-token-123"

SAMPLE_ROWS = [
    (5.1, 3.5, 1.4, 0.2, "setosa"),
    (7.0, 3.2, 4.7, 1.4, "versicolor"),
    (6.3, 3.3, 6.0, 2.5, "virginica"),
    (4.9, 3.0, 1.4, 0.2, "setosa"),
    (6.4, 3.2, 4.5, 1.5, "versicolor"),
    (5.8, 2.7, 5.1, 1.9, "virginica"),
]


@pytest.fixture(autouse=True)
def clean_sidecar_environment(monkeypatch):
    """No test sees the sidecar's own variables from the shell."""
    for name in SIDECAR_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """SQLite file per test, or the session's PostgreSQL database emptied for this test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'predictions.db'}"
    return request.getfixturevalue("clean_postgres_url")


@pytest.fixture
def data_csv(tmp_path):
    """A small versioned-data-like CSV."""
    path = tmp_path / "data" / "iris.csv"
    path.parent.mkdir()
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*FEATURES, "species"])
        writer.writerows(SAMPLE_ROWS)
    return path


@pytest.fixture
def make_app(tmp_path, data_csv):
    """Build an app over ``store_url`` with test settings; keyword overrides allowed."""
    apps = []

    def make(store_url: str, token: str | None = TOKEN, rate_limits=None, **project_overrides):
        project = Settings(
            log_store_url=store_url,
            sidecar_token=token,
            scoring_url=project_overrides.pop("scoring_url", "http://127.0.0.1:9"),
            tracking_uri=project_overrides.pop("tracking_uri", "http://127.0.0.1:9"),
            **project_overrides,
        )
        settings = SidecarSettings.build(
            project=project,
            project_dir=tmp_path,
            data_path=data_csv,
            jobs_dir=tmp_path / "jobs",
            rate_limits=rate_limits,
        )
        app = create_app(settings)
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["sidecar"].engine.dispose()


@pytest.fixture
def app(make_app, store_url):
    return make_app(store_url)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def engine(app):
    """The app's own engine (the store is migrated by create_store_engine)."""
    return app.extensions["sidecar"].engine


@pytest.fixture
def sqlite_app(make_app, sqlite_url):
    return make_app(sqlite_url)


def auth(token: str = TOKEN) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}
