"""The JSON Schemas (OpenAPI 3.1 dialect) of the sidecar's request and response bodies."""

from __future__ import annotations

from typing import Any

from mlproject.config import CLASSES, FEATURES
from mlproject.gate import GATE_DECISIONS
from mlproject.logstore import contract


def ref(name: str) -> dict[str, str]:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or null."""
    return {"anyOf": [schema, {"type": "null"}]}


STRING = {"type": "string"}
TIME = {"type": "string", "format": "date-time"}
NUMBER = {"type": "number"}
COUNT = {"type": "integer", "minimum": 0}


def _candidates_pattern() -> str:
    """``all``, or a comma list of the training project's candidate names."""
    from mlproject.candidates import CANDIDATES  # the training project's own names

    name = "(?:" + "|".join(sorted(CANDIDATES)) + ")"
    return f"^(?:all|{name}(?:,{name})*)$"


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


SWITCH = _object(
    {
        "switched_at": TIME,
        "model_name": STRING,
        "from_version": nullable(STRING),
        "to_version": STRING,
        "outcome": {"enum": list(contract.SWITCH_OUTCOMES)},
        "reason": STRING,
    }
)
MODEL = _object(
    {
        "name": STRING,
        "version": nullable(STRING),
        "run_id": nullable(STRING),
        "source": nullable(STRING),
    }
)
PREDICTION = _object(
    {
        "prediction_id": {"type": "string", "format": "uuid"},
        "created_at": TIME,
        "model_name": STRING,
        "model_version": STRING,
        "run_id": nullable(STRING),
        "request_id": nullable(STRING),
        "role": STRING,  # contract.ROLES: champion, or challenger for a canary answer
        **dict.fromkeys(FEATURES, NUMBER),
        "prediction": STRING,
        "class_index": {"type": "integer"},
        "probabilities": {"type": "object", "additionalProperties": NUMBER},
        "latency_seconds": NUMBER,
        "label": nullable({"enum": list(CLASSES)}),
        "labelled_at": nullable(TIME),
    }
)
JOB_STATE = {"enum": list(contract.JOB_STATES)}
RATIO = {"type": "number", "minimum": 0, "maximum": 1}
ACCURACY = nullable(
    _object(
        {
            "value": RATIO,
            "interval": {"type": "array", "items": RATIO, "minItems": 2, "maxItems": 2},
        }
    )
)
DECISION = {"enum": list(contract.TRIAL_DECISIONS)}
TRIAL_ACTION = nullable({"enum": list(contract.TRIAL_ACTIONS)})
TRIAL = _object(
    {
        "source": {"enum": ["registry", "log store"]},
        "champion_version": STRING,
        "challenger_version": STRING,
        "canary_percent": nullable({"type": "number", "minimum": 0, "maximum": 100}),
        "shadow_lag_rows": nullable(COUNT),
        "rows_compared": COUNT,
        "agreement": nullable(RATIO),
        "labelled": COUNT,
        "champion_accuracy": ACCURACY,
        "challenger_accuracy": ACCURACY,
        "discordant_b": COUNT,
        "discordant_c": COUNT,
        "p_value_better": RATIO,
        "p_value_worse": RATIO,
        "difference_interval": nullable(
            {"type": "array", "items": NUMBER, "minItems": 2, "maxItems": 2}
        ),
        "alpha": RATIO,
        "margin": RATIO,
        "decision": DECISION,
        "decided_at": nullable(TIME),
        "action": TRIAL_ACTION,
    }
)
DECISION_RECORD = _object(
    {
        "decided_at": TIME,
        "champion_version": STRING,
        "challenger_version": STRING,
        "decision": DECISION,
        "action": TRIAL_ACTION,
        "labelled": COUNT,
        "discordant_b": COUNT,
        "discordant_c": COUNT,
    }
)

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _object(
        {
            "error": STRING,
            "message": STRING,
            "parameter": STRING,
            "retry_after": {"type": "integer", "minimum": 1},
            "job_id": nullable(STRING),
        },
        required=["error", "message"],
    ),
    "Index": _object(
        {"service": STRING, "endpoints": {"type": "object", "additionalProperties": STRING}}
    ),
    "Health": _object(
        {
            "status": {"enum": ["ok", "degraded"]},
            "log_store": _object({"reachable": {"type": "boolean"}, "error": nullable(STRING)}),
            "scoring": _object(
                {"reachable": {"type": "boolean"}, "url": STRING, "error": nullable(STRING)}
            ),
            "model": MODEL,
            "refused_promotion": nullable(SWITCH),
            "last_serving_event": nullable(SWITCH),
        }
    ),
    "Switch": SWITCH,
    "Challenger": _object(
        {
            "model_name": STRING,
            "registry_reachable": {"type": "boolean"},
            "trial": nullable(TRIAL),
            "history": {"type": "array", "items": DECISION_RECORD},
        }
    ),
    "History": _object({"items": {"type": "array", "items": SWITCH}}),
    "ServedAt": _object(
        {
            "time": TIME,
            "model_name": STRING,
            "model_version": STRING,
            "serving_since": TIME,
            "switch": SWITCH,
        }
    ),
    "LogsPage": _object(
        {
            "items": {"type": "array", "items": PREDICTION, "maxItems": 1000},
            "next_cursor": nullable(STRING),
        }
    ),
    "Sample": _object(
        {
            "dataframe_split": _object(
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
        **_object(
            {
                "prediction_id": {"type": "string", "format": "uuid"},
                "label": {"enum": list(CLASSES)},
            }
        ),
        "additionalProperties": False,
    },
    "FeedbackRecorded": _object(
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
    "FeedbackPending": _object(
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
            "cv_folds": {"type": "integer", "minimum": 2, "maximum": 20},
            "seed": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
            "test_size": {"type": "number", "minimum": 0.05, "maximum": 0.5},
            "include_feedback": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
    "RetrainStarted": _object({"job_id": STRING, "state": JOB_STATE, "status_url": STRING}),
    "Job": _object(
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
    "Drift": _object(
        {"status": STRING, "window": {"type": "object"}, "features": {"type": "object"}},
    ),
    "Overview": _object(
        {
            "health": ref("Health"),
            "model": MODEL,
            "lineage": {"type": "object"},
            "predictions_total": COUNT,
            "last_prediction_at": nullable(TIME),
            "labelled_total": COUNT,
            # job_id only for a request with the bearer token
            "latest_job": nullable(
                _object({"job_id": STRING, "state": JOB_STATE}, required=["state"])
            ),
        }
    ),
    "Stats": _object(
        {
            "window": COUNT,
            "count": COUNT,
            "class_mix": {"type": "object", "additionalProperties": COUNT},
            "buckets": {"type": "array"},
            "latency_seconds": {"type": "object"},
        },
    ),
    "Errors": _object(
        {
            "total": COUNT,
            "by_reason": {
                "type": "array",
                "items": _object({"reason": STRING, "count": COUNT}),
            },
            "recent": {"type": "array", "maxItems": 100},
        }
    ),
    "Accuracy": _object(
        {
            "window": COUNT,
            "labelled": COUNT,
            "correct": COUNT,
            "accuracy": nullable(NUMBER),
            "labelled_total": COUNT,
            "by_version": {"type": "array"},
            "estimated": {
                "type": "array",
                "description": "Label-free accuracy per version (CBPE): estimate with its 95% "
                "interval over the latest predictions, and on the labelled ones the gap "
                "z-score of live accuracy against it",
                "items": _object(
                    {
                        "version": STRING,
                        "estimate": nullable(
                            _object(
                                {
                                    "accuracy": NUMBER,
                                    "lower": NUMBER,
                                    "upper": NUMBER,
                                    "rows": COUNT,
                                }
                            )
                        ),
                        "live": nullable({"type": "object"}),
                    }
                ),
            },
        }
    ),
    "DashboardDrift": _object(
        {
            "status": nullable(STRING),
            "message": nullable(STRING),
            "window": nullable(COUNT),
            "rows": nullable(COUNT),
            "features": {"type": "array"},
        }
    ),
}
