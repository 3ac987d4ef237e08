"""``GET /api/...``: the small JSON documents the dashboard at ``/`` polls.

Each reads a bounded slice of the log store (the latest N rows through an index, or the
``counters`` table), so a poll costs the same however long the log grows.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, request

from mlproject.config import CLASSES, FEATURES
from mlproject.logstore import contract, read_counters, tables

from .. import params
from ..lineage import LineageSource
from ..state import get_state
from ..timeutil import isoformat
from .health import health as health_view

bp = Blueprint("dashboard", __name__, url_prefix="/api")

MAX_WINDOW = 5000
MAX_BUCKETS = 60
SPARKLINE_POINTS = 60
DRIFT_STATUSES = ("ok", "moderate", "drift")
_LINEAGE = "sidecar.lineage"


def lineage_source() -> LineageSource:
    """This app's cached registry lookups (made on first use)."""
    source = current_app.extensions.get(_LINEAGE)
    if source is None:
        source = current_app.extensions[_LINEAGE] = LineageSource(get_state().settings.project)
    return source


@bp.get("/overview")
def overview():
    """``GET /health``'s body (always a 200 here), the model with its lineage, log totals
    and the latest retrain job."""
    params.query_args(request.args, ())
    state = get_state()
    health_body = health_view()[0].get_json()
    model = state.model_info.current()
    lineage = lineage_source().lookup(model.name, model.version, model.run_id)
    p, f, j = tables.predictions, tables.feedback, tables.retrain_jobs
    with state.engine.connect() as conn:
        served = sum(v for m, _, v in read_counters(conn) if m == contract.PREDICTIONS_TOTAL)
        last_at = conn.execute(sa.select(sa.func.max(p.c.created_at))).scalar()
        labelled = conn.execute(sa.select(sa.func.count()).select_from(f)).scalar_one()
        job = conn.execute(
            sa.select(j.c.job_id, j.c.state).order_by(j.c.created_at.desc()).limit(1)
        ).first()
    return jsonify(
        {
            "health": health_body,
            "model": model.as_dict(),
            "lineage": lineage.as_dict(),
            "predictions_total": int(served),
            "last_prediction_at": isoformat(last_at),
            "labelled_total": labelled,
            "latest_job": {"job_id": job.job_id, "state": job.state} if job else None,
        }
    )


@bp.get("/stats")
def stats():
    """Class mix (overall and in ``buckets`` slices, oldest first) and latency percentiles
    over the latest ``window`` predictions."""
    args = params.query_args(request.args, ("window", "buckets"))
    window = params.bounded_int("window", args.get("window"), 1, MAX_WINDOW, 200)
    buckets = params.bounded_int("buckets", args.get("buckets"), 1, MAX_BUCKETS, 12)
    p = tables.predictions
    query = (
        sa.select(p.c.created_at, p.c.model_version, p.c.prediction, p.c.latency_seconds)
        .order_by(p.c.seq.desc())
        .limit(window)
    )
    with get_state().engine.connect() as conn:
        rows = list(reversed(conn.execute(query).all()))
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
    r = tables.rejections
    with get_state().engine.connect() as conn:
        counted = [
            (str(labels.get("reason", "")), value)
            for metric, labels, value in read_counters(conn)
            if metric == contract.ERRORS_TOTAL
        ]
        recent = conn.execute(sa.select(r).order_by(r.c.seq.desc()).limit(limit)).all()
    by_reason = sorted(counted, key=lambda item: (-item[1], item[0]))
    return jsonify(
        {
            "total": int(sum(value for _, value in counted)),
            "by_reason": [{"reason": reason, "count": int(value)} for reason, value in by_reason],
            "recent": [
                {
                    "created_at": isoformat(row.created_at),
                    "model_version": row.model_version,
                    "reason": row.reason,
                    "field": row.field,
                    "row_index": row.row_index,
                    "message": row.message[:300],
                }
                for row in recent
            ],
        }
    )


@bp.get("/accuracy")
def accuracy():
    """Share of correct predictions among the latest ``window`` labelled ones, per version."""
    args = params.query_args(request.args, ("window",))
    state = get_state()
    window = params.bounded_int(
        "window", args.get("window"), 1, 10_000, state.settings.accuracy_window
    )
    p, f = tables.predictions, tables.feedback
    query = (
        sa.select(p.c.model_version, p.c.prediction, f.c.label)
        .select_from(f.join(p, p.c.prediction_id == f.c.prediction_id))
        .order_by(f.c.updated_at.desc())
        .limit(window)
    )
    with state.engine.connect() as conn:
        rows = conn.execute(query).all()
        labelled_total = conn.execute(sa.select(sa.func.count()).select_from(f)).scalar_one()
    per_version: dict[str, list[int]] = {}
    for row in rows:
        counts = per_version.setdefault(row.model_version, [0, 0])
        counts[0] += 1
        counts[1] += row.prediction == row.label
    correct = sum(c for _, c in per_version.values())
    return jsonify(
        {
            "window": window,
            "labelled": len(rows),
            "correct": correct,
            "accuracy": correct / len(rows) if rows else None,
            "labelled_total": labelled_total,
            "by_version": [
                {"model_version": v, "labelled": n, "correct": c, "accuracy": c / n}
                for v, (n, c) in sorted(per_version.items(), key=lambda item: item[0])
            ],
        }
    )


@bp.get("/drift")
def drift():
    """The drift report as one row per feature, or ``available: false`` with the reason.

    A 200 whenever the store answers: the page must not log a failed request (a console
    error) for drift that is not computed yet; a store outage is a 503 like elsewhere.
    """
    params.query_args(request.args, ())
    monitor = get_state().drift
    if monitor is None:
        return jsonify(_no_drift("drift monitoring is not set up in this process"))
    return jsonify(drift_rows(monitor.current()))


def _no_drift(message: str) -> dict[str, Any]:
    return {
        "available": False,
        "status": None,
        "message": message,
        "window": None,
        "rows": None,
        "features": [],
    }


def drift_rows(report: dict[str, Any]) -> dict[str, Any]:
    """``DriftMonitor.current()`` reshaped: one row per feature, in FEATURES order."""
    features = report.get("features") or {}
    rows = [
        {
            "feature": name,
            "psi": _number(features[name].get("psi")),
            "ks_pvalue": _number(features[name].get("ks_pvalue")),
            "status": features[name].get("status")
            if features[name].get("status") in DRIFT_STATUSES
            else "unknown",
        }
        for name in FEATURES
        if isinstance(features.get(name), dict)
    ]
    window = report.get("window") or {}
    return {
        "available": True,
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
