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
from .operation_parts import (
    BAD_PARAMETER,
    NO_TOKEN_CONFIGURED,
    RATE_LIMITED,
    STORE_DOWN,
    TIMESTAMP,
    TOO_LARGE,
    UNAUTHORIZED,
    answer,
    error,
    integer,
    query,
    reads,
)
from .schema_parts import ref

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
            "200": answer("Health", "the log store and scoring answer"),
            "503": answer("Health", "degraded: the body says what is down"),
        }
    },
    ("GET", "/logs"): {
        "parameters": [
            query(
                "model_version",
                {"type": "string", "minLength": 1, "maxLength": 50},
                "only this version",
            ),
            query("prediction", {"enum": list(CLASSES)}, "only this predicted class"),
            query(
                "role",
                {"enum": list(contract.ROLES)},
                "only the champion's answers or the challenger's (canary) ones",
            ),
            query("since", TIMESTAMP, "only predictions at or after this time (naive means UTC)"),
            query("limit", integer(1, MAX_LIMIT, 100), "page size"),
            query(
                "cursor",
                {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"},
                "next_cursor of the previous page",
            ),
        ],
        "responses": {
            **reads("LogsPage", "one page, newest first"),
            "200": {
                **answer("LogsPage", "one page, newest first"),
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
        "parameters": [query("n", integer(1, MAX_N, 5), "rows to draw")],
        "responses": reads("Sample", "a ready-to-POST /invocations body"),
    },
    ("POST", "/feedback"): {
        "security": [{"bearer": []}],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ref("FeedbackRequest")}},
        },
        "responses": {
            "200": answer("FeedbackRecorded", "the label replaced an earlier one"),
            "201": answer("FeedbackRecorded", "the first label of this prediction"),
            "202": answer(
                "FeedbackPending", "the prediction is still on its way; the label is held"
            ),
            "400": error("the body is not a feedback object, or a field is wrong"),
            "401": UNAUTHORIZED,
            "404": error("no prediction with this id will arrive (older than the window)"),
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
                **answer("RetrainStarted", "the job is queued; follow status_url"),
                "links": {
                    "GetJob": {
                        "operationId": "retrain.job_status",
                        "parameters": {"job_id": "$response.body#/job_id"},
                    }
                },
            },
            "400": error("an unknown or invalid training parameter"),
            "401": UNAUTHORIZED,
            "409": error("a job is already queued or running; job_id names it"),
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
            "200": answer("Job", "the job's state and outcome"),
            "400": BAD_PARAMETER,
            "401": UNAUTHORIZED,
            "404": error("no job with this id"),
            "503": error("the log store is not reachable, or SIDECAR_TOKEN is not configured"),
        },
    },
    ("GET", "/history"): {
        "parameters": [
            query("limit", integer(1, 500, 50), "how many events"),
            query("outcome", {"enum": list(contract.SWITCH_OUTCOMES)}, "only this kind of event"),
        ],
        "responses": reads("History", "switches, refusals and restarts, newest first"),
    },
    ("GET", "/history/at"): {
        "parameters": [query("time", TIMESTAMP, "the moment asked about (default now)")],
        "responses": reads(
            "ServedAt",
            "the version serving at that time",
            ("404", error("no version is recorded as serving at that time")),
        ),
    },
    ("GET", "/challenger"): {
        "responses": reads("Challenger", "the trial (null when none), newest decisions first"),
    },
    ("GET", "/drift"): {
        "responses": {"200": answer("Drift", "the drift report"), "503": STORE_DOWN},
    },
    # The latest job's id only with the bearer token (optional here: the security list
    # allows both); without it only its state.
    ("GET", "/api/overview"): {
        "security": [{}, {"bearer": []}],
        "responses": reads("Overview", "health, model, totals"),
    },
    ("GET", "/api/stats"): {
        "parameters": [
            query("window", integer(1, 5000, 200), "latest predictions covered"),
            query("buckets", integer(1, 60, 12), "time slices of the class mix"),
        ],
        "responses": reads("Stats", "class mix and latency"),
    },
    ("GET", "/api/errors"): {
        "parameters": [query("limit", integer(1, 100, 10), "latest rejections listed")],
        "responses": reads("Errors", "rejections by reason"),
    },
    ("GET", "/api/accuracy"): {
        "parameters": [query("window", integer(1, 10_000, 200), "latest labelled predictions")],
        "responses": reads("Accuracy", "live accuracy, per version"),
    },
    ("GET", "/api/drift"): {"responses": reads("DashboardDrift", "drift, one row per feature")},
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
