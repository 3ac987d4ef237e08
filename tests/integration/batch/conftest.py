"""Batch-scoring fixtures: Java for Spark and a registry with a champion."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.support.stack import sqlite_tracking_uri, train


def require_java() -> None:
    """Skip without a Java runtime (Spark needs 17+), or fail when CI is set."""
    if shutil.which("java") or os.environ.get("JAVA_HOME"):
        return
    reason = "no Java runtime on PATH or JAVA_HOME: Spark (batch scoring) needs Java 17+"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so a missing tool is a failure, not a skip")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A file-based tracking store whose iris-classifier@champion is version 1."""
    require_java()
    workdir = tmp_path_factory.mktemp("batch-registry")
    tracking_uri = sqlite_tracking_uri(workdir)
    train(tracking_uri, workdir, "--candidates", "logistic_regression", "--cv-folds", "2")
    return {"tracking_uri": tracking_uri, "workdir": workdir}
