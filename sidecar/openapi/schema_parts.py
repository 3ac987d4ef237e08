"""Pieces of the sidecar's JSON Schemas that several bodies share: the building blocks and
the records (a switch, a prediction, the trial) that appear inside more than one answer."""

from __future__ import annotations

from typing import Any

from mlproject.config import CLASSES, FEATURES
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
RATIO = {"type": "number", "minimum": 0, "maximum": 1}


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """An object schema; every property required unless ``required`` says otherwise."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


SWITCH = obj(
    {
        "switched_at": TIME,
        "model_name": STRING,
        "from_version": nullable(STRING),
        "to_version": STRING,
        "outcome": {"enum": list(contract.SWITCH_OUTCOMES)},
        "reason": STRING,
    }
)
MODEL = obj(
    {
        "name": STRING,
        "version": nullable(STRING),
        "run_id": nullable(STRING),
        "source": nullable(STRING),
    }
)
PREDICTION = obj(
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
ACCURACY = nullable(
    obj(
        {
            "value": RATIO,
            "interval": {"type": "array", "items": RATIO, "minItems": 2, "maxItems": 2},
        }
    )
)
DECISION = {"enum": list(contract.TRIAL_DECISIONS)}
TRIAL_ACTION = nullable({"enum": list(contract.TRIAL_ACTIONS)})
TRIAL = obj(
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
DECISION_RECORD = obj(
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
