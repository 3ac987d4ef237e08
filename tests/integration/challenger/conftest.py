"""The challenger tests' registry: a good version and one trained on shuffled labels.

Trained once for the package (training is the slow part) and shared by its modules.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from mlproject.challenger.models import load_version
from mlproject.config import FEATURES
from tests.support.processes import REPO_ROOT
from tests.support.stack import sqlite_tracking_uri, train

NAME = "iris-classifier"
DATA = REPO_ROOT / "data" / "iris.csv"


@pytest.fixture(scope="package")
def registry(tmp_path_factory):
    """Version 1 trained on the data, version 2 on label-shuffled data (refused by the gate)."""
    workdir = tmp_path_factory.mktemp("trial")
    tracking_uri = sqlite_tracking_uri(workdir)
    train(tracking_uri, workdir, "--candidates", "logistic_regression")
    frame = pd.read_csv(DATA)
    frame["species"] = np.random.default_rng(0).permutation(frame["species"].to_numpy())
    shuffled = workdir / "shuffled.csv"
    frame.to_csv(shuffled, index=False)
    train(
        tracking_uri,
        workdir,
        "--candidates",
        "logistic_regression",
        "--data-path",
        str(shuffled),
        "--evaluation-data-path",
        str(DATA),
    )
    return {"tracking_uri": tracking_uri, "workdir": workdir, "client": MlflowClient(tracking_uri)}


@pytest.fixture
def answers(registry, monkeypatch):
    """Each version's answer on every data row, from the registered models themselves."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry["tracking_uri"])
    monkeypatch.setenv("IRIS_PREDICTION_LOGGING", "false")
    monkeypatch.chdir(registry["workdir"])
    frame = pd.read_csv(DATA)
    found = {}
    for version in ("1", "2"):
        model = load_version(NAME, version)
        _, index = model.answer(frame[list(FEATURES)].to_numpy())
        found[version] = [model.classes[i] for i in index]
    return frame, found
