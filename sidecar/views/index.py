"""``GET /``: a small JSON index until the dashboard takes this page over."""

from __future__ import annotations

from flask import Blueprint, jsonify

bp = Blueprint("index", __name__)

ENDPOINTS = {
    "GET /health": "log store, scoring server and the model in service",
    "GET /logs": "prediction log, newest first (model_version, prediction, since, limit, cursor)",
    "GET /sample?n=5": "a ready-to-POST /invocations body drawn from the versioned data set",
    "POST /feedback": "record the true label of a prediction (bearer SIDECAR_TOKEN)",
    "POST /retrain": "start the MLflow Project in the background (bearer SIDECAR_TOKEN)",
    "GET /retrain/<job_id>": "state and outcome of a retrain job",
    "GET /metrics": "Prometheus metrics",
}


@bp.get("/")
def index():
    """Name the sidecar's endpoints."""
    return jsonify({"service": "iris-sidecar", "endpoints": ENDPOINTS})
