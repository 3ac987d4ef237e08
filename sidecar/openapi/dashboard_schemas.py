"""The JSON Schemas of the dashboard's own reads (``/api/...``)."""

from __future__ import annotations

from typing import Any

from .schema_parts import COUNT, JOB_STATE, MODEL, NUMBER, STRING, TIME, nullable, obj, ref

DASHBOARD_SCHEMAS: dict[str, dict[str, Any]] = {
    "Overview": obj(
        {
            "health": ref("Health"),
            "model": MODEL,
            "lineage": {"type": "object"},
            "predictions_total": COUNT,
            "last_prediction_at": nullable(TIME),
            "labelled_total": COUNT,
            # job_id only for a request with the bearer token
            "latest_job": nullable(obj({"job_id": STRING, "state": JOB_STATE}, required=["state"])),
        }
    ),
    "Stats": obj(
        {
            "window": COUNT,
            "count": COUNT,
            "class_mix": {"type": "object", "additionalProperties": COUNT},
            "buckets": {"type": "array"},
            "latency_seconds": {"type": "object"},
        },
    ),
    "Errors": obj(
        {
            "total": COUNT,
            "by_reason": {
                "type": "array",
                "items": obj({"reason": STRING, "count": COUNT}),
            },
            "recent": {"type": "array", "maxItems": 100},
        }
    ),
    "Accuracy": obj(
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
                "items": obj(
                    {
                        "version": STRING,
                        "estimate": nullable(
                            obj(
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
    "DashboardDrift": obj(
        {
            "status": nullable(STRING),
            "message": nullable(STRING),
            "window": nullable(COUNT),
            "rows": nullable(COUNT),
            "features": {"type": "array"},
        }
    ),
}
