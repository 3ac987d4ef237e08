"""What each route takes and answers, keyed by (method, OpenAPI path).

The paths and methods themselves come from the app's routes (``sidecar.openapi``); a test
checks that every route has an entry here and every entry is a route.
"""

from __future__ import annotations

from typing import Any

from mlproject.config import CLASSES
from mlproject.logstore import contract

from ..views.logs import MAX_LIMIT
from ..views.sample import MAX_N
from .schemas import ref


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {**_json("Error", description), **({"headers": headers} if headers else {})}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _integer(low: int, high: int, default: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high, "default": default}


TIMESTAMP = {"type": "string", "format": "date-time", "maxLength": 64}
# gunicorn itself refuses a request line over 4094 bytes, with a 400 page in HTML.
BAD_PARAMETER = {
    "description": (
        "a parameter is unknown, repeated or invalid (JSON naming it); or the request line "
        "is over 4094 bytes (gunicorn's own HTML page)"
    ),
    "content": {
        "application/json": {"schema": ref("Error")},
        "text/html": {"schema": {"type": "string"}},
    },
}
STORE_DOWN = _error("the log store is not reachable")
TOO_LARGE = _error("the body is larger than 64 KiB")
RATE_LIMITED = _error(
    "too many requests from this client; retry after Retry-After seconds",
    headers={"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
)
UNAUTHORIZED = _error(
    "missing or wrong bearer token",
    headers={"WWW-Authenticate": {"schema": {"type": "string"}}},
)
NO_TOKEN_CONFIGURED = _error("SIDECAR_TOKEN is not configured, or a dependency is missing")


def _reads(schema: str, description: str, *extra: tuple[str, dict]) -> dict[str, Any]:
    """The usual answers of a read: 200, 400 for a bad parameter, 503 when the store is down."""
    return {
        "200": _json(schema, description),
        "400": BAD_PARAMETER,
        "503": STORE_DOWN,
        **dict(extra),
    }


OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/"): {
        "responses": {
            "200": {
                "description": "the JSON index of endpoints, or the dashboard for browsers",
                "content": {
                    "application/json": {"schema": ref("Index")},
                    "text/html": {"schema": {"type": "string"}},
                },
            }
        }
    },
    ("GET", "/health"): {
        "responses": {
            "200": _json("Health", "the log store and scoring answer"),
            "503": _json("Health", "degraded: the body says what is down"),
        }
    },
    ("GET", "/logs"): {
        "parameters": [
            _query(
                "model_version",
                {"type": "string", "minLength": 1, "maxLength": 50},
                "only this version",
            ),
            _query("prediction", {"enum": list(CLASSES)}, "only this predicted class"),
            _query(
                "role",
                {"enum": list(contract.ROLES)},
                "only the champion's answers or the challenger's (canary) ones",
            ),
            _query("since", TIMESTAMP, "only predictions at or after this time (naive means UTC)"),
            _query("limit", _integer(1, MAX_LIMIT, 100), "page size"),
            _query(
                "cursor",
                {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"},
                "next_cursor of the previous page",
            ),
        ],
        "responses": {
            **_reads("LogsPage", "one page, newest first"),
            "200": {
                **_json("LogsPage", "one page, newest first"),
                "links": {
                    "LabelTheNewest": {
                        "operationId": "feedback.record_feedback",
                        "requestBody": {
                            "prediction_id": "$response.body#/items/0/prediction_id",
                            "label": "setosa",
                        },
                    },
                    "NextPage": {
                        "operationId": "logs.list_logs",
                        "parameters": {"cursor": "$response.body#/next_cursor"},
                    },
                },
            },
        },
    },
    ("GET", "/sample"): {
        "parameters": [_query("n", _integer(1, MAX_N, 5), "rows to draw")],
        "responses": _reads("Sample", "a ready-to-POST /invocations body"),
    },
    ("POST", "/feedback"): {
        "security": [{"bearer": []}],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ref("FeedbackRequest")}},
        },
        "responses": {
            "200": _json("FeedbackRecorded", "the label replaced an earlier one"),
            "201": _json("FeedbackRecorded", "the first label of this prediction"),
            "202": _json(
                "FeedbackPending", "the prediction is still on its way; the label is held"
            ),
            "400": _error("the body is not a feedback object, or a field is wrong"),
            "401": UNAUTHORIZED,
            "404": _error("no prediction with this id will arrive (older than the window)"),
            "413": TOO_LARGE,
            "429": RATE_LIMITED,
            "503": NO_TOKEN_CONFIGURED,
        },
    },
    ("POST", "/retrain"): {
        "security": [{"bearer": []}],
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": ref("RetrainRequest")}},
        },
        "responses": {
            "202": {
                **_json("RetrainStarted", "the job is queued; follow status_url"),
                "links": {
                    "GetJob": {
                        "operationId": "retrain.job_status",
                        "parameters": {"job_id": "$response.body#/job_id"},
                    }
                },
            },
            "400": _error("an unknown or invalid training parameter"),
            "401": UNAUTHORIZED,
            "409": _error("a job is already queued or running; job_id names it"),
            "413": TOO_LARGE,
            "429": RATE_LIMITED,
            "503": NO_TOKEN_CONFIGURED,
        },
    },
    ("GET", "/retrain/{job_id}"): {
        "security": [{"bearer": []}],
        "parameters": [
            {
                "name": "job_id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "format": "uuid"},
            }
        ],
        "responses": {
            "200": _json("Job", "the job's state and outcome"),
            "400": BAD_PARAMETER,
            "401": UNAUTHORIZED,
            "404": _error("no job with this id"),
            "503": _error("the log store is not reachable, or SIDECAR_TOKEN is not configured"),
        },
    },
    ("GET", "/history"): {
        "parameters": [
            _query("limit", _integer(1, 500, 50), "how many events"),
            _query("outcome", {"enum": list(contract.SWITCH_OUTCOMES)}, "only this kind of event"),
        ],
        "responses": _reads("History", "switches, refusals and restarts, newest first"),
    },
    ("GET", "/history/at"): {
        "parameters": [_query("time", TIMESTAMP, "the moment asked about (default now)")],
        "responses": _reads(
            "ServedAt",
            "the version serving at that time",
            ("404", _error("no version is recorded as serving at that time")),
        ),
    },
    ("GET", "/challenger"): {
        "responses": _reads("Challenger", "the trial (null when none), newest decisions first"),
    },
    ("GET", "/drift"): {
        "responses": {"200": _json("Drift", "the drift report"), "503": STORE_DOWN},
    },
    # The latest job's id only with the bearer token (optional here: the security list
    # allows both); without it only its state.
    ("GET", "/api/overview"): {
        "security": [{}, {"bearer": []}],
        "responses": _reads("Overview", "health, model, totals"),
    },
    ("GET", "/api/stats"): {
        "parameters": [
            _query("window", _integer(1, 5000, 200), "latest predictions covered"),
            _query("buckets", _integer(1, 60, 12), "time slices of the class mix"),
        ],
        "responses": _reads("Stats", "class mix and latency"),
    },
    ("GET", "/api/errors"): {
        "parameters": [_query("limit", _integer(1, 100, 10), "latest rejections listed")],
        "responses": _reads("Errors", "rejections by reason"),
    },
    ("GET", "/api/accuracy"): {
        "parameters": [_query("window", _integer(1, 10_000, 200), "latest labelled predictions")],
        "responses": _reads("Accuracy", "live accuracy, per version"),
    },
    ("GET", "/api/drift"): {"responses": _reads("DashboardDrift", "drift, one row per feature")},
    ("GET", "/metrics"): {
        "responses": {
            "200": {
                "description": "Prometheus text (or OpenMetrics when asked for)",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        }
    },
    ("GET", "/openapi.json"): {
        "responses": {
            "200": {
                "description": "this document",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        }
    },
}
