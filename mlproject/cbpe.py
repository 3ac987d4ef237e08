"""Confidence-based performance estimation (CBPE): accuracy without labels.

If a model's confidence is calibrated, the probability that a prediction is right is its
calibrated confidence, so the mean calibrated confidence over a window of predictions
estimates the window's accuracy before any label arrives (NannyML's CBPE, here for the
multiclass accuracy through the confidence of the predicted class).

Calibration (at training time, ``fit_calibration``): a map P(correct | max probability),
fitted by isotonic regression on out-of-fold predictions of the chosen specification on the
training rows (each row predicted by a model that did not see it). Each isotonic block's
value is replaced by Laplace's rule of succession ``(correct + 1) / (rows + 2)``: on Iris
most blocks are all-correct, and a plain 1.0 would claim certainty and a zero-width interval.

Estimate (``estimate``): mean calibrated confidence; each prediction is right with its own
probability p_i, so the count of correct ones is Poisson-binomial with variance
sum p_i (1 - p_i), and the 95% interval is the normal one on the mean. The interval covers
the sampling of these rows only, not the error of the calibration map itself.

Assumptions (docs/MODEL.md): no concept drift (P(y | x) unchanged since training), so
calibration holds under covariate shift; when live accuracy leaves the interval computed
on the same labelled rows (``divergence``), that assumption is what broke.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # kept out of the sidecar's imports: only training passes these
    import pandas as pd

    from mlproject.estimator import Classifier

FORMAT = "iris-cbpe-calibration/1"
ARTIFACT_FILE = "cbpe_calibration.json"
Z_95 = 1.959963984540054


def fit_calibration(confidence: Sequence[float], correct: Sequence[bool]) -> dict[str, Any]:
    """The JSON-ready map from max probability to P(correct), fitted on held-out answers.

    Args:
        confidence: each held-out prediction's probability of its predicted class.
        correct: whether that prediction was right.
    """
    from sklearn.isotonic import IsotonicRegression

    x = np.asarray(confidence, dtype="float64")
    y = np.asarray(correct, dtype="float64")
    if len(x) == 0 or len(x) != len(y):
        raise ValueError("calibration needs one correctness flag per confidence, at least one")
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    fitted = iso.fit(x, y).predict(x)
    smoothed = {}
    for value in np.unique(fitted):
        block = np.isclose(fitted, value)
        smoothed[float(value)] = (float(y[block].sum()) + 1.0) / (int(block.sum()) + 2.0)
    y_points = [smoothed[_nearest(smoothed, v)] for v in iso.y_thresholds_]
    y_points = np.maximum.accumulate(np.asarray(y_points)).tolist()  # stays monotone
    return {
        "format": FORMAT,
        "method": "isotonic P(correct | max probability), Laplace-smoothed blocks",
        "x": [float(v) for v in iso.X_thresholds_],
        "y": [float(v) for v in y_points],
        "rows": int(len(x)),
        "accuracy": float(y.mean()),
    }


def calibrated(calibration: dict[str, Any], confidence: Sequence[float]) -> np.ndarray:
    """P(correct) for each confidence: the isotonic map, flat beyond its ends."""
    if calibration.get("format") != FORMAT:
        raise ValueError(f"unknown calibration format {calibration.get('format')!r}")
    x = np.asarray(confidence, dtype="float64")
    # NumPy types interp's result as Any; for an array x it is an array.
    mapped: np.ndarray = np.interp(x, np.asarray(calibration["x"]), np.asarray(calibration["y"]))
    return mapped


@dataclass(frozen=True)
class Estimate:
    """Estimated accuracy over ``rows`` predictions, with its 95% interval."""

    accuracy: float
    lower: float
    upper: float
    rows: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "accuracy": self.accuracy,
            "lower": self.lower,
            "upper": self.upper,
            "rows": self.rows,
        }


def estimate(calibration: dict[str, Any], confidence: Sequence[float]) -> Estimate | None:
    """Mean calibrated confidence and its Poisson-binomial normal interval (None if no rows)."""
    p = calibrated(calibration, confidence)
    n = len(p)
    if n == 0:
        return None
    mean = float(p.mean())
    half = Z_95 * math.sqrt(float(np.sum(p * (1.0 - p)))) / n
    return Estimate(mean, max(0.0, mean - half), min(1.0, mean + half), n)


def divergence(calibration: dict[str, Any], confidence: Sequence[float], correct: int) -> float:
    """How many standard deviations the observed correct count is from the calibrated
    expectation on the same labelled rows (negative: worse than estimated).

    |z| > 1.96 means the live accuracy left the estimate's 95% interval on those rows.
    """
    p = calibrated(calibration, confidence)
    if len(p) == 0:
        return 0.0
    expected = float(p.sum())
    spread = math.sqrt(float(np.sum(p * (1.0 - p))))
    if spread == 0.0:
        return 0.0 if correct == expected else math.copysign(math.inf, correct - expected)
    return (correct - expected) / spread


def max_probability(probabilities: dict[str, float] | Sequence[float] | None) -> float | None:
    """The predicted class's probability from one logged probabilities record.

    None when the record has none (an empty or missing record: such a row cannot count
    towards an estimate, and must not break the estimate of the rows that can).
    """
    if not probabilities:
        return None
    values = probabilities.values() if isinstance(probabilities, dict) else probabilities
    return float(max(values))


def _nearest(blocks: dict[float, float], value: float) -> float:
    return min(blocks, key=lambda key: abs(key - value))


def out_of_fold_calibration(
    estimator: Classifier, features: pd.DataFrame, labels: pd.Series, *, folds: int, seed: int
) -> dict[str, Any]:
    """Calibration from out-of-fold predictions of ``estimator``'s specification.

    Each training row is predicted by a clone fitted on the other folds, so the map learns
    how often confidence is right on rows the model did not see.
    """
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    probabilities = cross_val_predict(
        clone(estimator), features, labels, cv=splitter, method="predict_proba"
    )
    classes = np.array(sorted(set(labels)), dtype=object)  # cross_val_predict's column order
    predicted = classes[probabilities.argmax(axis=1)]
    return fit_calibration(probabilities.max(axis=1), predicted == np.asarray(labels, dtype=object))
