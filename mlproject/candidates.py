"""The candidate estimators: scikit-learn Pipelines with their scaler and search grids."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


@dataclass(frozen=True)
class Candidate:
    """A named pipeline factory and the grid its cross-validated search explores."""

    name: str
    build: Callable[[int], Pipeline]
    grid: dict[str, list[Any]]


def _logistic_regression(seed: int) -> Pipeline:
    return Pipeline(
        [
            ("scaler", StandardScaler()),
            ("model", LogisticRegression(max_iter=2000, random_state=seed)),
        ]
    )


def _random_forest(seed: int) -> Pipeline:
    # Trees do not need scaling; the scaler stays so every candidate has the same shape.
    return Pipeline(
        [
            ("scaler", StandardScaler()),
            ("model", RandomForestClassifier(random_state=seed, n_jobs=1)),
        ]
    )


def _svm(seed: int) -> Pipeline:
    # scikit-learn 1.9 deprecates SVC(probability=True) for this calibrated wrapper, which
    # gives the probabilities the served model returns.
    calibrated = CalibratedClassifierCV(SVC(kernel="rbf", random_state=seed), ensemble=False)
    return Pipeline([("scaler", StandardScaler()), ("model", calibrated)])


def _majority(seed: int) -> Pipeline:
    return Pipeline([("scaler", StandardScaler()), ("model", DummyClassifier(strategy="prior"))])


CANDIDATES: dict[str, Candidate] = {
    candidate.name: candidate
    for candidate in (
        Candidate(
            "logistic_regression",
            _logistic_regression,
            {"model__C": [0.01, 0.1, 1.0, 10.0, 100.0]},
        ),
        Candidate(
            "random_forest",
            _random_forest,
            {"model__n_estimators": [50, 200], "model__max_depth": [None, 3, 5]},
        ),
        Candidate(
            "svm",
            _svm,
            {
                "model__estimator__C": [0.1, 1.0, 10.0, 100.0],
                "model__estimator__gamma": ["scale", 0.01, 0.1, 1.0],
            },
        ),
        # A majority-class baseline: never chosen on merit, but the yardstick that shows
        # what "learning nothing" scores, and a candidate set the gate must refuse.
        Candidate("majority", _majority, {"model__strategy": ["prior"]}),
    )
}
DEFAULT_CANDIDATES: tuple[str, ...] = ("logistic_regression", "random_forest", "svm")


def parse_candidates(spec: str) -> list[Candidate]:
    """Candidates named in a comma-separated list (``all`` means the default three).

    Raises:
        ValueError: for an empty list or an unknown name.
    """
    names = [name.strip() for name in spec.split(",") if name.strip()]
    if names == ["all"]:
        names = list(DEFAULT_CANDIDATES)
    if not names:
        raise ValueError("no candidates named")
    unknown = [name for name in names if name not in CANDIDATES]
    if unknown:
        raise ValueError(f"unknown candidate(s) {unknown}; choose from {sorted(CANDIDATES)}")
    return [CANDIDATES[name] for name in dict.fromkeys(names)]
