"""What our code asks of a scikit-learn classifier, for type checking.

scikit-learn ships no type information, so its estimators are ``Any`` to mypy; naming the
part we use (a fitted pipeline's ``predict_proba`` and ``classes_``) says what a function
expects of the estimator it is given.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class ProbabilityModel(Protocol):
    """Anything that gives class probabilities per row (what the served model calls)."""

    def predict_proba(self, features: Any) -> np.ndarray:
        """Probabilities per row of ``features`` (a DataFrame or an array of FEATURES)."""
        ...


class Classifier(ProbabilityModel, Protocol):
    """A fitted classifier: class probabilities per row, columns in ``classes_`` order."""

    classes_: np.ndarray
