"""The JSON Schemas (OpenAPI 3.1 dialect) of the sidecar's request and response bodies."""

from __future__ import annotations

from typing import Any

from mlproject.config import CLASSES, CV_FOLDS_RANGE, FEATURES, SEED_RANGE, TEST_SIZE_RANGE
from mlproject.gate import GATE_DECISIONS

from .dashboard_schemas import DASHBOARD_SCHEMAS
from .schema_parts import (
    DECISION_RECORD,
    JOB_STATE,
    MODEL,
    NUMBER,
    PREDICTION,
    STRING,
    SWITCH,
    TIME,
    TRIAL,
    nullable,
    obj,
)


def _candidates_pattern() -> str:
    """``all``, or a comma list of the training project's candidate names."""
    from mlproject.candidates import CANDIDATES  # the training project's own names

    name = "(?:" + "|".join(sorted(CANDIDATES)) + ")"
    return f"^(?:all|{name}(?:,{name})*)$"


def _bounded(kind: str, bounds: tuple[float, float]) -> dict[str, Any]:
    return {"type": kind, "minimum": bounds[0], "maximum": bounds[1]}


SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": obj(
        {
            "error": STRING,
            "message": STRING,
            "parameter": STRING,
            "retry_after": {"type": "integer", "minimum": 1},
            "job_id": nullable(STRING),
        },
        required=["error", "message"],
    ),
    "Index": obj(
        {"service": STRING, "endpoints": {"type": "object", "additionalProperties": STRING}}
    ),
    "Health": obj(
        {
            "status": {"enum": ["ok", "degraded"]},
            "log_store": obj({"reachable": {"type": "boolean"}, "error": nullable(STRING)}),
            "scoring": obj(
                {"reachable": {"type": "boolean"}, "url": STRING, "error": nullable(STRING)}
            ),
            "model": MODEL,
            "refused_promotion": nullable(SWITCH),
            "last_serving_event": nullable(SWITCH),
        }
    ),
    "Switch": SWITCH,
    "Challenger": obj(
        {
            "model_name": STRING,
            "registry_reachable": {"type": "boolean"},
            "trial": nullable(TRIAL),
            "history": {"type": "array", "items": DECISION_RECORD},
        }
    ),
    "History": obj({"items": {"type": "array", "items": SWITCH}}),
    "ServedAt": obj(
        {
            "time": TIME,
            "model_name": STRING,
            "model_version": STRING,
            "serving_since": TIME,
            "switch": SWITCH,
        }
    ),
    "LogsPage": obj(
        {
            "items": {"type": "array", "items": PREDICTION, "maxItems": 1000},
            "next_cursor": nullable(STRING),
        }
    ),
    "Sample": obj(
        {
            "dataframe_split": obj(
                {
                    "columns": {"const": list(FEATURES)},
                    "data": {
                        "type": "array",
                        "items": {"type": "array", "items": NUMBER, "minItems": 4, "maxItems": 4},
                    },
                }
            )
        }
    ),
    "FeedbackRequest": {
        **obj(
            {
                "prediction_id": {"type": "string", "format": "uuid"},
                "label": {"enum": list(CLASSES)},
            }
        ),
        "additionalProperties": False,
    },
    "FeedbackRecorded": obj(
        {
            "prediction_id": {"type": "string", "format": "uuid"},
            "label": {"enum": list(CLASSES)},
            "prediction": STRING,
            "model_version": STRING,
            "correct": {"type": "boolean"},
            "created_at": TIME,
            "updated_at": TIME,
            "replaced_label": nullable({"enum": list(CLASSES)}),
        }
    ),
    "FeedbackPending": obj(
        {
            "prediction_id": {"type": "string", "format": "uuid"},
            "label": {"enum": list(CLASSES)},
            "status": {"enum": ["pending"]},
            "received_at": TIME,
            "message": STRING,
        }
    ),
    "RetrainRequest": {
        "type": "object",
        "description": "Parameters passed on to the MLflow Project's main entry point",
        "properties": {
            "candidates": {"type": "string", "pattern": _candidates_pattern()},
            "cv_folds": _bounded("integer", CV_FOLDS_RANGE),
            "seed": _bounded("integer", SEED_RANGE),
            "test_size": _bounded("number", TEST_SIZE_RANGE),
            "include_feedback": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
    "RetrainStarted": obj({"job_id": STRING, "state": JOB_STATE, "status_url": STRING}),
    "Job": obj(
        {
            "job_id": STRING,
            "state": JOB_STATE,
            "reason": nullable(STRING),
            "decision": nullable({"enum": list(GATE_DECISIONS)}),
            "gate": nullable(
                {
                    "type": "object",
                    "description": "The paired gate's evidence: paired counts, exact McNemar "
                    "p-values, repeated CV differences, held-out metrics",
                }
            ),
        },
    ),
    "Drift": obj(
        {"status": STRING, "window": {"type": "object"}, "features": {"type": "object"}},
    ),
    **DASHBOARD_SCHEMAS,
}
