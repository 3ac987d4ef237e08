"""Unit-level fixtures: a real pyfunc saved locally from a quickly fitted estimator."""

from __future__ import annotations

import mlflow
import pytest

from mlproject.candidates import CANDIDATES
from mlproject.data import load_dataset, split_dataset
from mlproject.packaging import save_model
from tests.support.processes import REPO_ROOT, environment


@pytest.fixture(scope="session")
def iris_split():
    """The versioned data set's default split (seed 42, 20% held out)."""
    return split_dataset(load_dataset(REPO_ROOT / "data" / "iris.csv"), 0.2, 42)


@pytest.fixture(scope="session")
def saved_model_path(tmp_path_factory, iris_split):
    """A logistic-regression pyfunc saved with the project's own packaging code."""
    estimator = (
        CANDIDATES["logistic_regression"].build(42).fit(iris_split.x_train, iris_split.y_train)
    )
    path = tmp_path_factory.mktemp("model") / "iris-pyfunc"
    # Saving runs predict on the input example; that is not traffic.
    with environment(IRIS_PREDICTION_LOGGING="false"):
        save_model(path, estimator, iris_split, "iris-classifier", "test-digest")
    return path


@pytest.fixture(scope="session")
def loaded_model(saved_model_path):
    """The saved pyfunc loaded the way a scoring server loads it, logging off."""
    with environment(IRIS_PREDICTION_LOGGING="false", IRIS_MODEL_VERSION="7"):
        return mlflow.pyfunc.load_model(str(saved_model_path))
