"""End-to-end fixtures: a trained registry and MLflow's real scoring server."""

from __future__ import annotations

import pytest

from tests.support.stack import sqlite_tracking_uri, start_scoring, train


@pytest.fixture(scope="session")
def trained_registry(tmp_path_factory):
    """A SQLite tracking store with iris-classifier v1 as @champion (two fast candidates)."""
    workdir = tmp_path_factory.mktemp("registry")
    tracking_uri = sqlite_tracking_uri(workdir)
    train(tracking_uri, workdir, "--candidates", "logistic_regression,svm")
    return {"tracking_uri": tracking_uri, "workdir": workdir}


@pytest.fixture(scope="session")
def scoring_server(trained_registry, tmp_path_factory):
    """`mlflow models serve` for the champion, logging to a SQLite store of its own."""
    workdir = tmp_path_factory.mktemp("scoring")
    store_url = f"sqlite:///{workdir / 'predictions.db'}"
    server = start_scoring(trained_registry["tracking_uri"], store_url, workdir)
    server.store_url = store_url
    yield server
    server.stop()
