"""Log-store records for tests: one factory each, every field overridable by keyword."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from mlproject.logstore import PredictionRecord, RejectionRecord


def prediction_record(
    model_version: str = "1", label: str = "setosa", **overrides
) -> PredictionRecord:
    """A valid prediction record with a fresh id; ``overrides`` replace any field."""
    fields = {
        "prediction_id": str(uuid.uuid4()),
        "created_at": datetime.now(UTC),
        "model_name": "iris-classifier",
        "model_version": model_version,
        "run_id": "r" * 32,
        "request_id": None,
        "sepal_length": 5.1,
        "sepal_width": 3.5,
        "petal_length": 1.4,
        "petal_width": 0.2,
        "prediction": label,
        "class_index": 0,
        "probabilities": {"setosa": 0.97, "versicolor": 0.02, "virginica": 0.01},
        "latency_seconds": 0.002,
    }
    fields.update(overrides)
    return PredictionRecord(**fields)


def rejection_record(reason: str = "not_finite", **overrides) -> RejectionRecord:
    """A valid rejection record; ``overrides`` replace any field."""
    fields = {
        "created_at": datetime.now(UTC),
        "model_name": "iris-classifier",
        "model_version": "1",
        "request_id": None,
        "reason": reason,
        "field": "sepal_length",
        "row_index": 0,
        "message": "row 0, column sepal_length: NaN is not a measurement",
    }
    fields.update(overrides)
    return RejectionRecord(**fields)
