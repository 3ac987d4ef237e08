"""``GET /api/...``: the small JSON documents the dashboard at ``/`` polls.

Each reads a bounded slice of the log store through ``sidecar.queries``, so a poll costs
the same however long the log grows.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from flask import Blueprint, jsonify, request

from mlproject.config import CLASSES, FEATURES

from .. import params, queries
from ..auth import request_has_token
from ..monitoring.accuracy import accuracy_by_version
from ..monitoring.drift import STATUS_ORDER
from ..probes import health_report
from ..state import get_state
from ..timeutil import isoformat

bp = Blueprint("dashboard", __name__, url_prefix="/api")

MAX_WINDOW = 5000
MAX_BUCKETS = 60
SPARKLINE_POINTS = 60


@bp.get("/overview")
def overview():
    """``GET /health``'s report, the model with its lineage, log totals and the latest
    retrain job's state (its id only for the token's holder); a 200 even when degraded."""
    params.query_args(request.args, ())
    state = get_state()
    report = health_report(state)
    model = state.model_info.current()
    lineage = state.lineage.lookup(model.name, model.version, model.run_id)
    with state.engine.connect() as conn:
        totals = queries.log_totals(conn)
        job = queries.latest_job(conn)
    if job is not None and not request_has_token():
        job = {"state": job["state"]}  # the id would let anyone follow the job's output
    return jsonify(
        {
            "health": report,
            "model": model.as_dict(),
            "lineage": lineage.as_dict(),
            **totals,
            "latest_job": job,
        }
    )


@bp.get("/stats")
def stats():
    """Class mix (overall and in ``buckets`` slices, oldest first) and latency percentiles
    over the latest ``window`` predictions."""
    args = params.query_args(request.args, ("window", "buckets"))
    window = params.bounded_int("window", args.get("window"), 1, MAX_WINDOW, 200)
    buckets = params.bounded_int("buckets", args.get("buckets"), 1, MAX_BUCKETS, 12)
    with get_state().engine.connect() as conn:
        rows = queries.latest_predictions(conn, window)
    latencies = [row.latency_seconds for row in rows]
    size = max(1, math.ceil(len(rows) / buckets))
    slices = [rows[i : i + size] for i in range(0, len(rows), size)]
    return jsonify(
        {
            "window": window,
            "count": len(rows),
            "from": isoformat(rows[0].created_at) if rows else None,
            "to": isoformat(rows[-1].created_at) if rows else None,
            "classes": list(CLASSES),
            "class_mix": _mix(row.prediction for row in rows),
            "buckets": [
                {
                    "from": isoformat(part[0].created_at),
                    "to": isoformat(part[-1].created_at),
                    "class_mix": _mix(row.prediction for row in part),
                }
                for part in slices
            ],
            "versions": dict(Counter(row.model_version for row in rows)),
            "latency_seconds": {
                "p50": percentile(latencies, 50),
                "p95": percentile(latencies, 95),
                "max": max(latencies) if latencies else None,
                "series": latencies[-SPARKLINE_POINTS:],
            },
        }
    )


@bp.get("/errors")
def errors():
    """Rejections counted by reason (all time) and the latest ``limit`` of them."""
    args = params.query_args(request.args, ("limit",))
    limit = params.bounded_int("limit", args.get("limit"), 1, 100, 10)
    with get_state().engine.connect() as conn:
        by_reason = queries.rejections_by_reason(conn)
        recent = queries.latest_rejections(conn, limit)
    return jsonify(
        {
            "total": sum(item["count"] for item in by_reason),
            "by_reason": by_reason,
            "recent": recent,
        }
    )


@bp.get("/accuracy")
def accuracy():
    """Share of correct predictions among the latest ``window`` labelled ones, per version,
    and each version's label-free estimate (over the sidecar's own accuracy window)."""
    args = params.query_args(request.args, ("window",))
    state = get_state()
    window = params.bounded_int(
        "window", args.get("window"), 1, 10_000, state.settings.accuracy_window
    )
    with state.engine.connect() as conn:
        versions = accuracy_by_version(conn, window)
        labelled_total = queries.labelled_total(conn)
        estimated = state.estimate.current(conn)
    labelled = sum(v.labelled for v in versions)
    correct = sum(v.correct for v in versions)
    return jsonify(
        {
            "window": window,
            "labelled": labelled,
            "correct": correct,
            "accuracy": correct / labelled if labelled else None,
            "labelled_total": labelled_total,
            "by_version": [v.as_dict() for v in versions],
            # Label-free (CBPE) per version: over the latest IRIS_ACCURACY_WINDOW predictions,
            # and on the labelled rows above; see sidecar.monitoring.estimate.
            "estimated": estimated,
        }
    )


@bp.get("/drift")
def drift():
    """The drift report as one row per feature, with a message while drift is not judged.

    A 200 whenever the store answers: the page must not log a failed request (a console
    error) for drift that is not computed yet; a store outage is a 503 like elsewhere.
    """
    params.query_args(request.args, ())
    return jsonify(drift_rows(get_state().drift.current()))


def drift_rows(report: dict[str, Any]) -> dict[str, Any]:
    """``DriftMonitor.current()`` reshaped: one row per feature, in FEATURES order."""
    features = report.get("features") or {}
    rows = [
        {
            "feature": name,
            "psi": _number(features[name].get("psi")),
            "ks_pvalue": _number(features[name].get("ks_pvalue")),
            "status": features[name].get("status")
            if features[name].get("status") in STATUS_ORDER
            else "unknown",
        }
        for name in FEATURES
        if isinstance(features.get(name), dict)
    ]
    window = report.get("window") or {}
    return {
        "status": report.get("status"),
        "message": report.get("message"),
        "window": window.get("size"),
        "rows": window.get("rows"),
        "features": rows,
    }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _mix(predictions) -> dict[str, int]:
    counts = Counter(predictions)
    return {name: counts.get(name, 0) for name in (*CLASSES, *sorted(set(counts) - set(CLASSES)))}


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile by linear interpolation (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
