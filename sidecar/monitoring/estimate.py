"""Label-free accuracy (CBPE) per model version, beside live accuracy.

Per version, two bounded windows (``window`` rows each, read through indexes):

- the latest predictions (by ``seq``) with every answer a version gave on them, served or
  shadow-scored, so champion and challenger are estimated on the same traffic:
  ``iris_estimated_accuracy{version}`` with its 95% interval (``_lower``, ``_upper``);
- the latest labelled predictions (by ``feedback.updated_at``), as for
  ``iris_live_accuracy``: on these same rows, how many standard deviations the live correct
  count is from the calibrated expectation (``iris_estimated_accuracy_gap_zscore``). Beyond
  +-1.96 the live accuracy left the estimate's interval: the calibration no longer holds,
  which (with no concept drift assumed by the estimate) is what concept drift looks like.

The calibration of each version (``artifacts/cbpe_calibration.json`` in its pyfunc, from
``mlproject.cbpe``) is fetched once per version and process; a version without one (trained
before it existed, or the registry unreachable: asked again after ``retry_seconds``) has no
estimate. One computation serves scrapes and dashboard polls for ``cache_seconds``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.engine import Engine

from mlproject import cbpe
from mlproject.config import Settings
from mlproject.logstore import contract, tables
from mlproject.registry_reader import RegistryReader

from ..cache import TTLCache

REGISTRY_TIMEOUT_SECONDS = 2.0

logger = logging.getLogger(__name__)

ARTIFACT_PATH = f"artifacts/{cbpe.ARTIFACT_FILE}"


class CalibrationSource:
    """Each version's calibration from MLflow, kept once found; None while unavailable."""

    def __init__(self, settings: Settings, retry_seconds: float = 60.0) -> None:
        self._settings = settings
        self._retry_seconds = retry_seconds
        self._lock = threading.Lock()
        self._found: dict[str, dict[str, Any]] = {}
        self._failed: dict[str, float] = {}

    def get(self, version: str) -> dict[str, Any] | None:
        """The calibration of ``version``, or None (not asked again for ``retry_seconds``)."""
        with self._lock:
            if version in self._found:
                return self._found[version]
            failed_at = self._failed.get(version)
            if failed_at is not None and time.monotonic() - failed_at < self._retry_seconds:
                return None
            try:
                payload, _ = RegistryReader(
                    self._settings.tracking_uri, timeout=REGISTRY_TIMEOUT_SECONDS
                ).version_json(self._settings.model_name, version, ARTIFACT_PATH)
                cbpe.calibrated(payload, [0.5])  # refuse an unknown format now, not per scrape
            except Exception as exc:  # noqa: BLE001 - no calibration means no estimate
                logger.info("no CBPE calibration for version %s: %s", version, exc)
                self._failed[version] = time.monotonic()
                return None
            self._found[version] = payload
            self._failed.pop(version, None)
            return payload


class EstimateMonitor:
    """Estimated accuracy per version, computed at most once per ``cache_seconds``."""

    def __init__(
        self,
        engine: Engine,
        calibrations: CalibrationSource,
        window: int,
        cache_seconds: float = 5.0,
    ) -> None:
        self._engine = engine
        self._calibrations = calibrations
        self.window = window
        self._cache: TTLCache[list[dict[str, Any]]] = TTLCache(cache_seconds)

    def current(self, conn: sa.Connection | None = None) -> list[dict[str, Any]]:
        """One JSON-ready entry per version with a calibration, ordered by version."""
        return self._cache.get("estimates", lambda: self._compute_on(conn))

    def metrics(self, conn: sa.Connection) -> list[Metric]:
        """Gauge provider for the collector (store errors propagate: the store is down)."""
        try:
            estimates = self.current(conn)
        except sa.exc.SQLAlchemyError:
            raise
        except Exception:  # noqa: BLE001 - the estimate must never break the rest of the scrape
            logger.exception("accuracy estimate failed")
            return []
        return estimate_metrics(estimates, self.window)

    def _compute_on(self, conn: sa.Connection | None) -> list[dict[str, Any]]:
        if conn is not None:
            return self._compute(conn)
        with self._engine.connect() as own:
            return self._compute(own)

    def _compute(self, conn: sa.Connection) -> list[dict[str, Any]]:
        confidence = _confidence_by_version(conn, self.window)
        labelled = _labelled_by_version(conn, self.window)
        entries = []
        for version in sorted(set(confidence) | set(labelled)):
            calibration = self._calibrations.get(version)
            if calibration is None:
                continue
            entry: dict[str, Any] = {"version": version, "estimate": None, "live": None}
            found = cbpe.estimate(calibration, confidence.get(version, []))
            if found is not None:
                entry["estimate"] = found.as_dict()
            rows = labelled.get(version, [])
            if rows:
                correct = sum(ok for _, ok in rows)
                scores = [score for score, _ in rows]
                on_labelled = cbpe.estimate(calibration, scores)
                entry["live"] = {
                    "labelled": len(rows),
                    "accuracy": correct / len(rows),
                    "estimate_on_labelled": on_labelled.as_dict() if on_labelled else None,
                    "gap_zscore": cbpe.divergence(calibration, scores, correct),
                }
            entries.append(entry)
        return entries


def _confidence_by_version(conn: sa.Connection, window: int) -> dict[str, list[float]]:
    """Max probabilities per version on the latest ``window`` predictions (served + shadow)."""
    p, s = tables.predictions, tables.shadow_predictions
    latest = (
        sa.select(p.c.prediction_id, p.c.model_version, p.c.probabilities)
        .order_by(p.c.seq.desc())
        .limit(window)
        .subquery()
    )
    found: dict[str, list[float]] = defaultdict(list)
    served = sa.select(latest.c.model_version, latest.c.probabilities)
    shadow = sa.select(s.c.model_version, s.c.probabilities).join(
        latest, latest.c.prediction_id == s.c.prediction_id
    )
    for query in (served, shadow):
        for version, probabilities in conn.execute(query):
            confidence = cbpe.max_probability(probabilities)
            if confidence is not None:
                found[version].append(confidence)
    return found


def _labelled_by_version(conn: sa.Connection, window: int) -> dict[str, list[tuple[float, bool]]]:
    """(max probability, correct) per version on the latest ``window`` labelled predictions."""
    p, f, s = tables.predictions, tables.feedback, tables.shadow_predictions
    latest = (
        sa.select(
            p.c.prediction_id, p.c.model_version, p.c.probabilities, p.c.prediction, f.c.label
        )
        .select_from(f.join(p, p.c.prediction_id == f.c.prediction_id))
        .order_by(f.c.updated_at.desc())
        .limit(window)
        .subquery()
    )
    found: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    served = sa.select(
        latest.c.model_version, latest.c.probabilities, latest.c.prediction, latest.c.label
    )
    shadow = sa.select(s.c.model_version, s.c.probabilities, s.c.prediction, latest.c.label).join(
        latest, latest.c.prediction_id == s.c.prediction_id
    )
    for query in (served, shadow):
        for version, probabilities, prediction, label in conn.execute(query):
            confidence = cbpe.max_probability(probabilities)
            if confidence is not None:
                found[version].append((confidence, prediction == label))
    return found


def estimate_metrics(estimates: list[dict[str, Any]], window: int) -> list[Metric]:
    """The gauges of one computation; a version shows only the series it has data for."""
    families = {
        metric.name: GaugeMetricFamily(
            metric.name, metric.help.format(window=window), labels=list(metric.labels)
        )
        for metric in (
            contract.ESTIMATED_ACCURACY,
            contract.ESTIMATED_ACCURACY_LOWER,
            contract.ESTIMATED_ACCURACY_UPPER,
            contract.ESTIMATED_ACCURACY_ROWS,
            contract.ESTIMATED_ACCURACY_GAP,
            contract.ESTIMATED_ACCURACY_LABELLED,
        )
    }
    for entry in estimates:
        labels = [entry["version"]]
        if entry["estimate"] is not None:
            found = entry["estimate"]
            families[contract.ESTIMATED_ACCURACY.name].add_metric(labels, found["accuracy"])
            families[contract.ESTIMATED_ACCURACY_LOWER.name].add_metric(labels, found["lower"])
            families[contract.ESTIMATED_ACCURACY_UPPER.name].add_metric(labels, found["upper"])
            families[contract.ESTIMATED_ACCURACY_ROWS.name].add_metric(labels, found["rows"])
        if entry["live"] is not None:
            live = entry["live"]
            families[contract.ESTIMATED_ACCURACY_GAP.name].add_metric(labels, live["gap_zscore"])
            families[contract.ESTIMATED_ACCURACY_LABELLED.name].add_metric(labels, live["labelled"])
    return list(families.values())
