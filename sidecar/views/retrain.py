"""``POST /retrain`` starts training in the background; ``GET /retrain/<job_id>`` reports it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, request, url_for

from ..auth import token_required
from ..errors import InvalidParameter, NotFound
from ..state import get_state

bp = Blueprint("retrain", __name__)


def _candidates(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string: 'all' or a comma list of candidate names")
    from mlproject.candidates import parse_candidates  # the training project's own check

    parse_candidates(value)
    return value


def _integer(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if type(value) is not int or not low <= value <= high:
            raise ValueError(f"must be an integer from {low} to {high}")
        return value

    return check


def _fraction(low: float, high: float) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if type(value) not in (int, float) or not low <= value <= high:
            raise ValueError(f"must be a number from {low} to {high}")
        return float(value)

    return check


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


# What a caller may pass on to the MLflow Project's main entry point (see MLproject).
RETRAIN_PARAMS: dict[str, Callable[[Any], Any]] = {
    "candidates": _candidates,
    "cv_folds": _integer(2, 20),
    "seed": _integer(0, 2**31 - 1),
    "test_size": _fraction(0.05, 0.5),
    # Labelled predictions from this log store join the training rows (a new snapshot).
    "include_feedback": _boolean,
}


@bp.post("/retrain")
@token_required
def start_retrain():
    """Start a job: 202 with its id, or 409 naming the job already queued or running."""
    job = get_state().jobs.start(_parse_params())
    body = {
        "job_id": job["job_id"],
        "state": job["state"],
        "status_url": url_for("retrain.job_status", job_id=job["job_id"]),
    }
    return jsonify(body), 202, {"Location": body["status_url"]}


@bp.get("/retrain/<job_id>")
@token_required
def job_status(job_id: str):
    """State, times, run id, model version, gate outcome and the output's last lines.

    Needs the token too: the output names the host, its paths and pids.
    """
    try:
        canonical = str(uuid.UUID(job_id))
    except ValueError:
        raise InvalidParameter(
            f"job_id must be a UUID, got {job_id!r}", extra={"parameter": "job_id"}
        ) from None
    job = get_state().jobs.get(canonical)
    if job is None:
        raise NotFound(f"no retrain job with id {canonical}")
    return jsonify(job)


def _parse_params() -> dict[str, Any]:
    """The optional JSON body: an object of known parameters, each of the right type."""
    if not request.get_data(cache=True).strip():
        return {}
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise InvalidParameter("the body must be empty or a JSON object of training parameters")
    params: dict[str, Any] = {}
    for name, value in body.items():
        check = RETRAIN_PARAMS.get(name)
        if check is None:
            raise InvalidParameter(
                f"unknown training parameter {name!r}; allowed: {', '.join(RETRAIN_PARAMS)}",
                extra={"parameter": name},
            )
        try:
            params[name] = check(value)
        except ValueError as exc:
            raise InvalidParameter(
                f"{name} {exc}, got {value!r}", extra={"parameter": name}
            ) from None
    return params
