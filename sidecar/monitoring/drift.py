"""Input drift: the latest predictions' features against the served version's training data.

Per feature, two views of the same live window (the latest ``window`` predictions by
``seq``, whatever version served them: drift is about the inputs, and the question is
whether they still look like what the model in service was trained on):

- the population stability index over the reference's own bins,
  ``PSI = sum((a - e) * ln(a / e))`` with live shares ``a`` and training shares ``e``.
  Empty bins would make it infinite, so both shares are floored at ``PSI_EPSILON`` (1e-4):
  a training bin of 10% left empty by the window then adds 0.1 * ln(0.1 / 1e-4) = 0.69,
  "drift" on its own, which is right for a 250-row window (the chance of that is 0.9^250);
- the two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``) against the training
  values kept in the reference.

A feature is "drift" at PSI >= ``psi_threshold``, "moderate" at half of it or when the
KS p-value is below ``ks_pvalue``, else "ok". Below ``min_rows`` rows nothing is judged:
small windows are noise (measured in tests/unit/sidecar/test_drift.py, figures in
docs/OBSERVABILITY.md). One computation serves every scrape and /drift call for
``cache_seconds``; the window query reads at most ``window`` rows through the primary key.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily, Metric
from scipy.stats import ks_2samp
from sqlalchemy.engine import Engine

from mlproject.config import FEATURES
from mlproject.logstore import contract, tables

from ..cache import TTLCache
from ..config import DriftSettings
from ..model_info import ModelInfoSource
from ..timeutil import isoformat, utcnow
from .drift_reference import Reference, ReferenceSource

logger = logging.getLogger(__name__)

PSI_EPSILON = 1e-4
STATUS_ORDER = ("ok", "moderate", "drift")


def bin_shares(edges: Sequence[float], values: np.ndarray) -> np.ndarray:
    """Share of ``values`` in each bin cut at the inner ``edges`` (outer bins open)."""
    index = np.searchsorted(np.asarray(edges, dtype="float64"), values, side="right")
    counts = np.bincount(index, minlength=len(edges) + 1)
    return counts / max(int(counts.sum()), 1)


def psi(expected: Sequence[float], actual: Sequence[float], epsilon: float = PSI_EPSILON) -> float:
    """Population stability index of ``actual`` shares against ``expected`` (same bins)."""
    e = np.clip(np.asarray(expected, dtype="float64"), epsilon, None)
    a = np.clip(np.asarray(actual, dtype="float64"), epsilon, None)
    return float(np.sum((a - e) * np.log(a / e)))


def feature_drift(reference: dict[str, Any], values: np.ndarray, settings: DriftSettings) -> dict:
    """PSI, KS statistic and p-value, and a status for one feature's live ``values``."""
    shares = bin_shares(reference["edges"], values)
    index = psi(reference["proportions"], shares)
    ks = ks_2samp(values, np.asarray(reference["values"], dtype="float64"))
    if index >= settings.psi_threshold:
        status = "drift"
    elif index >= settings.psi_threshold / 2 or ks.pvalue < settings.ks_pvalue:
        status = "moderate"
    else:
        status = "ok"
    return {
        "psi": index,
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "status": status,
        "window_mean": float(values.mean()),
        "reference_mean": float(reference["mean"]),
        "reference_std": float(reference["std"]),
        "edges": list(reference["edges"]),
        "reference_proportions": list(reference["proportions"]),
        "window_proportions": shares.tolist(),
    }


def judge(reference: Reference, window: np.ndarray, settings: DriftSettings) -> dict:
    """Every feature's drift for a ``(rows, 4)`` window; ``status`` is the worst of them."""
    features = {
        name: feature_drift(reference.features[name], window[:, i], settings)
        for i, name in enumerate(FEATURES)
    }
    worst = max((f["status"] for f in features.values()), key=STATUS_ORDER.index)
    return {"status": worst, "features": features}


class DriftMonitor:
    """Drift of the live window, computed at most once per ``cache_seconds`` per process."""

    def __init__(
        self,
        engine: Engine,
        model_info: ModelInfoSource,
        references: ReferenceSource,
        settings: DriftSettings,
        cache_seconds: float = 5.0,
    ) -> None:
        self._engine = engine
        self._model_info = model_info
        self._references = references
        self.settings = settings
        self._cache: TTLCache[dict[str, Any]] = TTLCache(cache_seconds)

    @property
    def min_rows(self) -> int:
        """Rows needed before drift is judged (never more than the window holds)."""
        return min(self.settings.min_rows, self.settings.window)

    def current(self, conn: sa.Connection | None = None) -> dict[str, Any]:
        """The JSON-ready drift report (cached); opens a connection unless given one."""
        return self._cache.get("report", lambda: self._compute_on(conn))

    def _compute_on(self, conn: sa.Connection | None) -> dict[str, Any]:
        if conn is not None:
            return self._compute(conn)
        with self._engine.connect() as own:
            return self._compute(own)

    def metrics(self, conn: sa.Connection) -> list[Metric]:
        """Gauge provider for the collector: PSI and KS p-value per feature, window size."""
        try:
            report = self.current(conn)
        except sa.exc.SQLAlchemyError:
            raise  # the collector reports the store down
        except Exception:  # noqa: BLE001 - drift must never break the rest of the scrape
            logger.exception("drift computation failed")
            return []
        return drift_metrics(report)

    def _compute(self, conn: sa.Connection) -> dict[str, Any]:
        rows = _latest_window(conn, self.settings.window)
        model = self._model_info.current()
        report: dict[str, Any] = {
            "status": "insufficient_data",
            "computed_at": isoformat(utcnow()),
            "model": {"name": model.name, "version": model.version},
            "window": {
                "size": self.settings.window,
                "rows": len(rows),
                "min_rows": self.min_rows,
                "first_seq": rows[-1].seq if rows else None,
                "last_seq": rows[0].seq if rows else None,
                "since": isoformat(rows[-1].created_at) if rows else None,
                "until": isoformat(rows[0].created_at) if rows else None,
            },
            "thresholds": {
                "psi_moderate": self.settings.psi_threshold / 2,
                "psi_drift": self.settings.psi_threshold,
                "ks_pvalue": self.settings.ks_pvalue,
                "psi_epsilon": PSI_EPSILON,
            },
            "reference": None,
            "features": {},
        }
        if len(rows) < self.min_rows:
            report["message"] = (
                f"{len(rows)} predictions in the window, drift needs at least {self.min_rows}"
            )
            return report
        reference = self._references.get(model.version)
        report["reference"] = reference.describe()
        window = np.array(
            [[getattr(row, name) for name in FEATURES] for row in rows], dtype="float64"
        )
        report.update(judge(reference, window, self.settings))
        return report


def _latest_window(conn: sa.Connection, size: int) -> list[sa.Row]:
    """The latest ``size`` predictions' features, newest first (a primary-key range scan)."""
    p = tables.predictions
    query = (
        sa.select(p.c.seq, p.c.created_at, *(p.c[name] for name in FEATURES))
        .order_by(p.c.seq.desc())
        .limit(size)
    )
    return list(conn.execute(query).all())


def drift_metrics(report: dict[str, Any]) -> list[Metric]:
    """The gauges of one drift report; per-feature ones only when drift was judged."""
    size = GaugeMetricFamily(contract.DRIFT_WINDOW_SIZE.name, contract.DRIFT_WINDOW_SIZE.help)
    size.add_metric([], report["window"]["rows"])
    index, pvalue = (
        GaugeMetricFamily(metric.name, metric.help, labels=list(metric.labels))
        for metric in (contract.FEATURE_DRIFT_PSI, contract.FEATURE_DRIFT_KS_PVALUE)
    )
    for name, feature in report["features"].items():
        index.add_metric([name], feature["psi"])
        pvalue.add_metric([name], feature["ks_pvalue"])
    return [size, index, pvalue]
