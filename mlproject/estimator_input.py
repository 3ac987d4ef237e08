"""How the served model feeds its estimator: plain arrays where that is provably the same."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd

from mlproject.config import FEATURES
from mlproject.estimator import Classifier, ProbabilityModel


def array_estimator(estimator: Classifier) -> ProbabilityModel:
    """The estimator fed plain arrays in FEATURES order, when that is provably the same.

    A scikit-learn estimator fitted on a DataFrame re-checks column names on every call
    (and warns for an array), which costs more than the prediction itself for small
    batches. If it was fitted on exactly FEATURES, a copy without the recorded names gives
    the same probabilities for an array in that order: checked here on sample rows, else
    the original is kept (and is given a DataFrame).
    """
    names = getattr(estimator, "feature_names_in_", None)
    if names is None or list(names) != list(FEATURES):
        return FrameFed(estimator)
    stripped = copy.deepcopy(estimator)
    for _, step in getattr(stripped, "steps", [(None, stripped)]):
        step.__dict__.pop("feature_names_in_", None)
    sample = np.array([[5.1, 3.5, 1.4, 0.2], [6.3, 2.5, 4.9, 1.5], [7.7, 3.0, 6.1, 2.3]])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            same = np.array_equal(
                stripped.predict_proba(sample),
                estimator.predict_proba(pd.DataFrame(sample, columns=list(FEATURES))),
            )
    except Exception:  # noqa: BLE001 - any doubt: keep the original
        same = False
    return stripped if same else FrameFed(estimator)


class FrameFed:
    """Gives an estimator the DataFrame it was fitted with."""

    def __init__(self, estimator: Classifier) -> None:
        self.estimator = estimator

    def predict_proba(self, values: np.ndarray) -> np.ndarray:
        return self.estimator.predict_proba(pd.DataFrame(values, columns=list(FEATURES)))
