"""The write side of ``POST /feedback``: a true label for a logged prediction.

A first label is inserted; a later one replaces it and says which label it replaced. Each
accepted label adds one to ``iris_feedback_total`` in the same transaction.

Seam for pending feedback (SPEC: 202 while the prediction is still on its way to the
store): ``record_label`` is the one place that decides what an id the store has not seen
becomes. Today that is ``UnknownPrediction`` (404); with the log store's
``record_feedback`` (RECORDED, PENDING, UNKNOWN) a PENDING answer becomes a
``LabelPending`` result and the view answers it with 202.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from mlproject.logstore import (
    contract,
    immediate_transaction,
    increment_counters,
    labels_key,
    tables,
)

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


def record_label(engine: sa.Engine, prediction_id: str, label: str, now: datetime) -> LabelRecorded:
    """Store ``label`` for ``prediction_id`` at ``now``; UnknownPrediction if it is not logged."""
    try:
        return _record(engine, prediction_id, label, now)
    except sa.exc.IntegrityError:
        return _record(engine, prediction_id, label, now)  # a concurrent first label won


def _record(engine: sa.Engine, prediction_id: str, label: str, now: datetime) -> LabelRecorded:
    p, f = tables.predictions, tables.feedback
    with immediate_transaction(engine) as conn:
        predicted = conn.execute(
            sa.select(p.c.prediction, p.c.model_version).where(p.c.prediction_id == prediction_id)
        ).first()
        if predicted is None:
            raise UnknownPrediction(f"no prediction with id {prediction_id}")
        previous = conn.execute(
            sa.select(f.c.label, f.c.created_at).where(f.c.prediction_id == prediction_id)
        ).first()
        if previous is None:
            conn.execute(
                f.insert().values(
                    prediction_id=prediction_id, label=label, created_at=now, updated_at=now
                )
            )
        else:
            conn.execute(
                f.update()
                .where(f.c.prediction_id == prediction_id)
                .values(label=label, updated_at=now)
            )
        increment_counters(conn, {(contract.FEEDBACK_TOTAL, labels_key({})): 1})
    return LabelRecorded(
        prediction_id=prediction_id,
        label=label,
        prediction=predicted.prediction,
        model_version=predicted.model_version,
        created_at=now if previous is None else previous.created_at,
        updated_at=now,
        replaced_label=None if previous is None else previous.label,
    )
