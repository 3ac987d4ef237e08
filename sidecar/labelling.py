"""The write side of ``POST /feedback``: a true label for a logged prediction.

A first label is inserted (201); a later one replaces it and says which label it replaced
(200). A prediction reaches the store a moment after it was answered (spool, then
shipper), so a label for an id the store has not seen yet is held as pending (202) and
joined by the shipper when the row arrives; an id that provably never comes (a UUIDv7
older than ``IRIS_FEEDBACK_WINDOW``) is ``UnknownPrediction`` (404). The storage rules
live in ``mlproject.logstore.feedback``; this module maps them to the sidecar's answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from mlproject.logstore import immediate_transaction
from mlproject.logstore.feedback import FeedbackResult, Outcome, record_feedback

from .errors import UnknownPrediction
from .timeutil import isoformat


@dataclass(frozen=True)
class LabelRecorded:
    """A label stored against its prediction."""

    prediction_id: str
    label: str
    prediction: str
    model_version: str
    created_at: datetime
    updated_at: datetime
    replaced_label: str | None

    @property
    def status(self) -> int:
        """201 for a first label, 200 when it replaced one."""
        return 201 if self.replaced_label is None else 200

    def as_dict(self) -> dict[str, Any]:
        return {
            "prediction_id": self.prediction_id,
            "label": self.label,
            "prediction": self.prediction,
            "model_version": self.model_version,
            "correct": self.prediction == self.label,
            "created_at": isoformat(self.created_at),
            "updated_at": isoformat(self.updated_at),
            "replaced_label": self.replaced_label,
        }


@dataclass(frozen=True)
class LabelPending:
    """A label held until its prediction reaches the store."""

    prediction_id: str
    label: str
    received_at: datetime
    window_seconds: float

    status = 202

    def as_dict(self) -> dict[str, Any]:
        return {
            "prediction_id": self.prediction_id,
            "label": self.label,
            "status": "pending",
            "received_at": isoformat(self.received_at),
            "message": "the prediction is not in the log store yet; the label is held and "
            f"joined when it arrives (within {self.window_seconds:g} s, else dropped)",
        }


def record_label(
    engine: sa.Engine, prediction_id: str, label: str, now: datetime, window: float
) -> LabelRecorded | LabelPending:
    """Store ``label`` for ``prediction_id`` at ``now``, or hold it for up to ``window`` s.

    Raises:
        UnknownPrediction: the id can be dated and is older than the window.
    """
    try:
        result = _record(engine, prediction_id, label, now, window)
    except sa.exc.IntegrityError:
        result = _record(engine, prediction_id, label, now, window)  # a concurrent label won
    if result.outcome is Outcome.UNKNOWN:
        raise UnknownPrediction(
            f"no prediction with id {prediction_id}, and it is older than the "
            f"{window:g} s a label may wait for its prediction"
        )
    if result.outcome is Outcome.PENDING:
        return LabelPending(prediction_id, label, now, window)
    return LabelRecorded(
        prediction_id=prediction_id,
        label=label,
        prediction=result.prediction,
        model_version=result.model_version,
        created_at=result.created_at,
        updated_at=result.updated_at,
        replaced_label=result.replaced_label,
    )


def _record(
    engine: sa.Engine, prediction_id: str, label: str, now: datetime, window: float
) -> FeedbackResult:
    with immediate_transaction(engine) as conn:
        return record_feedback(conn, prediction_id, label, now, window)
