"""Prediction and rejection records for writing rows directly (tools, tests; see direct.py)."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mlproject.logstore.contract import CHAMPION, ROLES


def _utc(value: datetime) -> datetime:
    # A naive timestamp is ambiguous across hosts; refuse it rather than guess the zone.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"created_at must be timezone-aware, got {value!r}")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class PredictionRecord:
    """One served input row, its outcome and the model that produced it."""

    prediction_id: str
    created_at: datetime
    model_name: str
    model_version: str
    run_id: str | None
    request_id: str | None
    sepal_length: float
    sepal_width: float
    petal_length: float
    petal_width: float
    prediction: str
    class_index: int
    probabilities: dict[str, float]
    latency_seconds: float
    role: str = CHAMPION  # or CHALLENGER: a canary answer (contract.ROLES)

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", _utc(self.created_at))
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {self.role!r}")

    def as_row(self) -> dict[str, Any]:
        """The row for ``tables.predictions``, with plain Python numbers."""
        return {
            "prediction_id": self.prediction_id,
            "created_at": self.created_at,
            "model_name": self.model_name,
            "model_version": str(self.model_version),
            "run_id": self.run_id,
            "request_id": self.request_id,
            # float()/int(): numpy scalars would reach the driver otherwise.
            "sepal_length": float(self.sepal_length),
            "sepal_width": float(self.sepal_width),
            "petal_length": float(self.petal_length),
            "petal_width": float(self.petal_width),
            "prediction": self.prediction,
            "class_index": int(self.class_index),
            "probabilities": {str(k): float(v) for k, v in self.probabilities.items()},
            "latency_seconds": float(self.latency_seconds),
            "role": self.role,
        }


@dataclass(frozen=True)
class RejectionRecord:
    """One refused request: why, and which field and row were at fault when known."""

    created_at: datetime
    model_name: str
    model_version: str
    request_id: str | None
    reason: str
    field: str | None
    row_index: int | None
    message: str
    # dataclasses.field, spelled out: the ``field`` attribute above shadows the bare name.
    rejection_id: str = dataclasses.field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", _utc(self.created_at))

    def as_row(self) -> dict[str, Any]:
        """The row for ``tables.rejections``."""
        return {
            "created_at": self.created_at,
            "model_name": self.model_name,
            "model_version": str(self.model_version),
            "request_id": self.request_id,
            "reason": self.reason,
            "field": self.field,
            "row_index": None if self.row_index is None else int(self.row_index),
            "message": self.message,
            "rejection_id": self.rejection_id,
        }
