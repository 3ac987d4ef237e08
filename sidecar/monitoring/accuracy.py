"""Live accuracy and the feedback behind it: how much is labelled, and how late.

Every query reads at most ``window`` rows through an index (``feedback.updated_at``, the
predictions' primary key), so a scrape costs the same with a million rows as with ten:

- ``iris_live_accuracy``: share correct among the latest ``window`` labelled predictions
  (labelled latest by ``feedback.updated_at``), and ``iris_live_accuracy_labelled`` how
  many that is;
- ``iris_feedback_labelled_ratio``: share of the latest ``window`` predictions (by ``seq``)
  that have a label, which says how far live accuracy can be trusted right now;
- ``iris_label_delay_seconds``: median time from a prediction to its first label, over
  the latest ``window`` labelled predictions (a label replaced later keeps its first time).
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily, Metric

from mlproject.logstore import contract, tables

from ..timeutil import as_utc


def accuracy_metrics(conn: sa.Connection, window: int) -> list[Metric]:
    """Live accuracy, labelled share and label delay over windows of ``window`` rows."""
    return [*live_accuracy(conn, window), labelled_ratio(conn, window), label_delay(conn, window)]


@dataclass(frozen=True)
class VersionAccuracy:
    """Labelled and correct predictions of one model version in the window."""

    model_version: str
    labelled: int
    correct: int

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "accuracy": self.correct / self.labelled}


def accuracy_by_version(conn: sa.Connection, window: int) -> list[VersionAccuracy]:
    """Labelled and correct counts per version among the latest ``window`` labelled
    predictions (latest by ``feedback.updated_at``), ordered by version."""
    p, f = tables.predictions, tables.feedback
    latest = (
        sa.select(
            p.c.model_version,
            sa.case((f.c.label == p.c.prediction, 1), else_=0).label("correct"),
        )
        .select_from(f.join(p, p.c.prediction_id == f.c.prediction_id))
        .order_by(f.c.updated_at.desc())
        .limit(window)
        .subquery()
    )
    rows = conn.execute(
        sa.select(latest.c.model_version, sa.func.count(), sa.func.sum(latest.c.correct)).group_by(
            latest.c.model_version
        )
    ).all()
    # Sorted here: the databases' collations need not agree on the order of strings.
    return [VersionAccuracy(v, int(n), int(c or 0)) for v, n, c in sorted(rows, key=lambda r: r[0])]


def live_accuracy(conn: sa.Connection, window: int) -> list[Metric]:
    """Share of correct predictions among the latest ``window`` labelled ones."""
    versions = accuracy_by_version(conn, window)
    labelled = sum(v.labelled for v in versions)
    correct = sum(v.correct for v in versions)
    accuracy = _gauge(contract.LIVE_ACCURACY, window)
    if labelled:
        accuracy.add_metric([], correct / labelled)
    size = _gauge(contract.LIVE_ACCURACY_LABELLED, window)
    size.add_metric([], labelled)
    return [accuracy, size]


def labelled_ratio(conn: sa.Connection, window: int) -> Metric:
    """Share of the latest ``window`` predictions that have a true label (absent without any)."""
    p, f = tables.predictions, tables.feedback
    latest = sa.select(p.c.prediction_id).order_by(p.c.seq.desc()).limit(window).subquery()
    # A correlated count per row (an index probe each), not a join: PostgreSQL would
    # hash-join the whole feedback table against the window's few hundred ids.
    has_label = (
        sa.select(sa.func.count())
        .where(f.c.prediction_id == latest.c.prediction_id)
        .scalar_subquery()
    )
    total, labelled = conn.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(has_label), 0)).select_from(latest)
    ).one()
    ratio = _gauge(contract.FEEDBACK_LABELLED_RATIO, window)
    if total:
        ratio.add_metric([], labelled / total)
    return ratio


def label_delay(conn: sa.Connection, window: int) -> Metric:
    """Median seconds from prediction to first label, latest ``window`` labels (absent without)."""
    p, f = tables.predictions, tables.feedback
    rows = conn.execute(
        sa.select(p.c.created_at.label("predicted"), f.c.created_at.label("labelled"))
        .select_from(f.join(p, p.c.prediction_id == f.c.prediction_id))
        .order_by(f.c.updated_at.desc())
        .limit(window)
    ).all()
    delay = _gauge(contract.LABEL_DELAY, window)
    if rows:
        seconds = [(as_utc(r.labelled) - as_utc(r.predicted)).total_seconds() for r in rows]
        delay.add_metric([], statistics.median(seconds))
    return delay


def _gauge(metric: contract.Metric, window: int) -> GaugeMetricFamily:
    return GaugeMetricFamily(metric.name, metric.help.format(window=window))
