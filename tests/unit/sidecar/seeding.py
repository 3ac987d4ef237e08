"""Write realistic log-store content through the log store's own writer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from mlproject.config import CLASSES
from mlproject.logstore import LogWriter, PredictionRecord, tables
from tests.support import records

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def prediction_record(
    index: int,
    *,
    model_version: str = "1",
    when: datetime | None = None,
    prediction: str | None = None,
) -> PredictionRecord:
    """The ``index``-th of a deterministic series of predictions, one second apart."""
    label = prediction or CLASSES[index % len(CLASSES)]
    probabilities = {name: (0.9 if name == label else 0.05) for name in CLASSES}
    return records.prediction_record(
        created_at=when or T0 + timedelta(seconds=index),
        model_version=model_version,
        run_id=f"run-{model_version}",
        request_id=f"req-{index}",
        sepal_length=5.0 + index % 10 / 10,
        sepal_width=3.0,
        petal_length=1.5,
        petal_width=0.2,
        prediction=label,
        class_index=CLASSES.index(label),
        probabilities=probabilities,
        latency_seconds=0.002 * (1 + index % 5),
    )


def seed(engine: sa.Engine, records: list[PredictionRecord]) -> list[PredictionRecord]:
    """Commit ``records`` (one request each) and return them."""
    writer = LogWriter(engine)
    writer.start()
    for record in records:
        writer.submit_predictions([record], record.latency_seconds)
    assert writer.flush(timeout=30), "log writer did not commit in time"
    writer.close()
    return records


def seed_series(engine: sa.Engine, count: int, **kwargs) -> list[PredictionRecord]:
    """Seed ``count`` predictions made one second apart, oldest first."""
    return seed(engine, [prediction_record(i, **kwargs) for i in range(count)])


def row_counts(engine: sa.Engine) -> dict[str, int]:
    """Rows in every table, to show a request left them intact."""
    with engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in tables.metadata.sorted_tables
        }
