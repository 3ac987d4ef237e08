"""``POST /retrain`` starts training in the background; ``GET /retrain/<job_id>`` reports it."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, jsonify, request, url_for

from ..auth import token_required
from ..errors import InvalidParameter, NotFound
from ..retrain.params import RETRAIN_PARAMS
from ..state import get_state

bp = Blueprint("retrain", __name__)


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
