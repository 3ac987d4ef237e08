"""Repeated stratified cross-validation differences between a candidate and its champion.

Recorded beside the offline gate's decision (gate.py), for the record:
both specifications (candidate and champion, refit per fold on the same training rows)
scored on the same folds. The gate does not decide on them, because CV folds overlap and
their differences are not independent; the Nadeau-Bengio corrected t-test is given as the
honest p-value for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import t as student_t

if TYPE_CHECKING:
    import pandas as pd

    from mlproject.estimator import Classifier


@dataclass(frozen=True)
class CVDifferences:
    """Per-fold score differences (candidate minus champion) over repeated stratified CV."""

    scoring: str
    folds: int
    repeats: int
    differences: list[float]
    test_fraction: float  # share of rows in each fold's test part (for the correction)

    @property
    def mean(self) -> float:
        return float(np.mean(self.differences))

    @property
    def std(self) -> float:
        return float(np.std(self.differences, ddof=1)) if len(self.differences) > 1 else 0.0

    @property
    def folds_worse(self) -> int:
        return int(sum(d < 0 for d in self.differences))

    @property
    def corrected_pvalue(self) -> float:
        """Two-sided Nadeau-Bengio corrected resampled t-test (1.0 when all differences tie)."""
        k = len(self.differences)
        variance = self.std**2
        if k < 2 or variance == 0.0:
            return 1.0 if self.mean == 0.0 else 0.0
        ratio = self.test_fraction / (1.0 - self.test_fraction)
        statistic = self.mean / math.sqrt((1.0 / k + ratio) * variance)
        return float(2 * student_t.sf(abs(statistic), df=k - 1))

    def summary(self) -> dict[str, float | int | str]:
        return {
            "scoring": self.scoring,
            "folds": self.folds,
            "repeats": self.repeats,
            "mean_difference": self.mean,
            "std_difference": self.std,
            "folds_worse": self.folds_worse,
            "corrected_pvalue": self.corrected_pvalue,
        }


def repeated_cv_differences(
    candidate: Classifier,
    champion: Classifier,
    features: pd.DataFrame,
    labels: pd.Series,
    *,
    folds: int,
    repeats: int,
    seed: int,
    scoring: str = "accuracy",
) -> CVDifferences:
    """Refit clones of both estimators on each fold's training part, score the same test part.

    Args:
        candidate, champion: fitted or unfitted scikit-learn estimators (cloned, not changed).
        features, labels: the training rows (the held-out rows stay out of this).
    """
    from sklearn.base import clone
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import RepeatedStratifiedKFold

    scorer = get_scorer(scoring)
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    differences = []
    for train_index, test_index in splitter.split(features, labels):
        x_fit, y_fit = features.iloc[train_index], labels.iloc[train_index]
        x_test, y_test = features.iloc[test_index], labels.iloc[test_index]
        scores = [
            scorer(clone(model).fit(x_fit, y_fit), x_test, y_test)
            for model in (candidate, champion)
        ]
        differences.append(float(scores[0] - scores[1]))
    return CVDifferences(scoring, folds, repeats, differences, 1.0 / folds)
