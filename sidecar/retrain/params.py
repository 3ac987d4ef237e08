"""The training parameters a caller may pass on to the MLflow Project's main entry point.

Each check returns the value as training takes it, or raises ValueError saying what it must be.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlproject.config import CV_FOLDS_RANGE, SEED_RANGE, TEST_SIZE_RANGE


def candidates(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string: 'all' or a comma list of candidate names")
    from mlproject.candidates import parse_candidates  # the training project's own check

    parse_candidates(value)
    return value


def integer(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if type(value) is not int or not low <= value <= high:
            raise ValueError(f"must be an integer from {low} to {high}")
        return value

    return check


def fraction(low: float, high: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if type(value) not in (int, float) or not low <= value <= high:
            raise ValueError(f"must be a number from {low} to {high}")
        return float(value)

    return check


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


# What a caller may pass on to the MLflow Project's main entry point (see MLproject).
RETRAIN_PARAMS: dict[str, Callable[[Any], Any]] = {
    "candidates": candidates,
    "cv_folds": integer(*CV_FOLDS_RANGE),
    "seed": integer(*SEED_RANGE),
    "test_size": fraction(*TEST_SIZE_RANGE),
    # Labelled predictions from this log store join the training rows (a new snapshot).
    "include_feedback": boolean,
}
