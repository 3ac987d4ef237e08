"""A Prometheus collector over the log store: counters table, live accuracy, model info.

Accuracy, labelled share and label delay are computed in ``sidecar.monitoring.accuracy``.

A scrape reads the small ``counters`` table and a few bounded, index-backed queries, so
its cost does not grow with the number of predictions ever logged.

Extension point: ``gauge_providers`` is a list of callables ``provider(conn) ->
Iterable[Metric]`` run inside the scrape's connection; drift (``iris_feature_drift_psi``)
plugs in there from ``sidecar.monitoring.drift``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

import sqlalchemy as sa
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy.engine import Engine

from mlproject.logstore import contract, read_counters
from mlproject.logstore.counters import go_float

from ..errors import first_line
from ..model_info import ModelInfoSource
from .accuracy import accuracy_metrics

logger = logging.getLogger(__name__)

GaugeProvider = Callable[[sa.Connection], Iterable[Metric]]


class LogStoreCollector(Collector):
    """Reads the log store on each scrape; never raises into the exposition."""

    def __init__(
        self,
        engine: Engine,
        model_info: ModelInfoSource,
        accuracy_window: int,
        gauge_providers: list[GaugeProvider] | None = None,
    ) -> None:
        self._engine = engine
        self._model_info = model_info
        self._window = accuracy_window
        self.gauge_providers: list[GaugeProvider] = (
            gauge_providers if gauge_providers is not None else []
        )

    def describe(self) -> list[Metric]:
        return []  # reading the store at registration time is what we avoid

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(contract.LOG_STORE_UP.name, contract.LOG_STORE_UP.help)
        try:
            with self._engine.connect() as conn:
                metrics = list(counter_metrics(read_counters(conn)))
                metrics += accuracy_metrics(conn, self._window)
                for provider in self.gauge_providers:
                    metrics += list(provider(conn))
                metrics = merge_same_name(metrics)
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            logger.warning("metrics scrape could not read the log store: %s", first_line(exc))
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics
        model = self._model_info.current()
        info = GaugeMetricFamily(
            contract.MODEL_INFO.name,
            contract.MODEL_INFO.help,
            labels=list(contract.MODEL_INFO.labels),
        )
        if model.version is not None:
            info.add_metric([model.name, model.version, model.run_id or ""], 1)
        yield info


def merge_same_name(metrics: list[Metric]) -> list[Metric]:
    """One family per name: later families' samples join the first (the exposition format
    allows one HELP and TYPE per name, e.g. iris_live_accuracy with and without labels)."""
    first: dict[str, Metric] = {}
    merged = []
    for family in metrics:
        if family.name in first:
            first[family.name].samples.extend(family.samples)
        else:
            first[family.name] = family
            merged.append(family)
    return merged


def counter_metrics(rows: Iterable[tuple[str, dict, float]]) -> Iterator[Metric]:
    """Counter families from ``counters`` rows, plus the latency histogram."""
    by_metric: dict[str, list[tuple[dict, float]]] = defaultdict(list)
    for metric, labels, value in rows:
        by_metric[metric].append((labels, value))
    for spec in contract.COUNTERS:
        family = CounterMetricFamily(spec.name, spec.help, labels=list(spec.labels))
        samples = by_metric.pop(spec.name, [])
        if not samples and spec.name in contract.ZERO_WHEN_ABSENT:
            samples = [({}, 0.0)]
        for labels, value in samples:
            family.add_metric([str(labels.get(label, "")) for label in spec.labels], value)
        yield family
    yield duration_histogram(
        {
            str(labels.get("le")): value
            for labels, value in by_metric.pop(contract.DURATION_BUCKET, [])
        },
        sum(value for _, value in by_metric.pop(contract.DURATION_SUM, [])),
        sum(value for _, value in by_metric.pop(contract.DURATION_COUNT, [])),
    )
    for name in sorted(by_metric):  # counters added later by the writer, exposed as they are
        if name.endswith("_total") and name.startswith("iris_"):
            label_names = sorted({key for labels, _ in by_metric[name] for key in labels})
            family = CounterMetricFamily(name, name.replace("_", " "), labels=label_names)
            for labels, value in by_metric[name]:
                family.add_metric([str(labels.get(key, "")) for key in label_names], value)
            yield family


def duration_histogram(
    buckets: dict[str, float], total: float, count: float
) -> HistogramMetricFamily:
    """The cumulative buckets over ``LATENCY_BUCKETS``, with ``+Inf`` equal to the count.

    ``buckets`` maps each stored ``le`` label (as the writer spells it) to its value; a
    bound no observation fell under has no row yet, and counts 0.
    """
    ordered = [
        (floatToGoString(bound), buckets.get(go_float(bound), 0.0))
        for bound in contract.LATENCY_BUCKETS
    ]
    ordered.append(("+Inf", count))
    return HistogramMetricFamily(
        contract.DURATION.name, contract.DURATION.help, buckets=ordered, sum_value=total
    )
