"""Writing records straight into the store, for tools and tests (not the served model).

The served model only appends to its spool (spool.py) and the shipper loads it. Seeding a
store, importing history or a test that needs rows now goes through ``write_records``,
which uses the same bulk load and counters as the shipper, in one transaction.
``LogWriter`` keeps the submit/flush interface of the former in-process writer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from mlproject.logstore import counters as c
from mlproject.logstore.assemble import clean_optional
from mlproject.logstore.engine import immediate_transaction
from mlproject.logstore.load import Batch, Loaded, load
from mlproject.logstore.records import PredictionRecord, RejectionRecord


def write_records(
    engine: sa.Engine,
    requests: Iterable[tuple[Sequence[PredictionRecord], float | None]] = (),
    rejections: Iterable[RejectionRecord] = (),
) -> Loaded:
    """Store each request's predictions (with its latency) and each rejection, once."""
    impl = sa.DateTime(timezone=True).dialect_impl(engine.dialect)
    to_driver: Callable[[Any], Any] = impl.bind_processor(engine.dialect) or (lambda value: value)
    batch = Batch()
    for records, latency in requests:
        for record in records:
            row = record.as_row()
            batch.predictions.append(
                (
                    row["prediction_id"],
                    to_driver(row["created_at"]),
                    row["model_name"],
                    row["model_version"],
                    row["run_id"],
                    clean_optional(row["request_id"], 200),
                    row["sepal_length"],
                    row["sepal_width"],
                    row["petal_length"],
                    row["petal_width"],
                    row["prediction"],
                    row["class_index"],
                    _json(row["probabilities"]),
                    row["latency_seconds"],
                    row["role"],
                )
            )
            batch.prediction_deltas.update(
                c.prediction_deltas(row["model_version"], [row["prediction"]])
            )
        if latency is not None:
            batch.deltas.update(c.latency_deltas(latency))
    for rejection in rejections:
        row = rejection.as_row()
        batch.rejections.append(
            (
                row["rejection_id"],
                to_driver(row["created_at"]),
                row["model_name"],
                row["model_version"],
                clean_optional(row["request_id"], 200),
                row["reason"],
                row["field"],
                row["row_index"],
                row["message"],
            )
        )
        batch.deltas.update(c.rejection_deltas(row["reason"]))
    with immediate_transaction(engine) as conn:
        return load(conn, batch, None, datetime.now(UTC))


class LogWriter:
    """Collects records and writes them on ``flush`` (the former writer's interface)."""

    def __init__(self, engine: sa.Engine, **_ignored: object) -> None:
        self._engine = engine
        self._requests: list[tuple[tuple[PredictionRecord, ...], float | None]] = []
        self._rejections: list[RejectionRecord] = []
        self.dropped = 0

    @property
    def backlog(self) -> int:
        """Rows submitted and not yet written."""
        return sum(len(r) for r, _ in self._requests) + len(self._rejections)

    def start(self) -> None:
        """Nothing to start: kept for callers of the former background writer."""

    def submit_predictions(
        self, records: Sequence[PredictionRecord], latency_seconds: float | None
    ) -> None:
        """Queue one request's rows and its latency observation."""
        self._requests.append((tuple(records), latency_seconds))

    def submit_rejection(self, record: RejectionRecord) -> None:
        """Queue one refused request."""
        self._rejections.append(record)

    def flush(self, timeout: float | None = None) -> bool:
        """Write everything queued in one transaction; True when done."""
        requests, rejections = self._requests, self._rejections
        self._requests, self._rejections = [], []
        write_records(self._engine, requests, rejections)
        return True

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued."""
        self.flush(timeout)


def _json(probabilities: dict[str, float]) -> str:
    return json.dumps(probabilities)
