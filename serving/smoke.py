"""The smoke prediction a new scoring process must answer before it gets traffic."""

from __future__ import annotations

import functools
import secrets
from typing import Any

import requests

from mlproject.config import CLASSES, FEATURES

# A known Iris row (the data set's first setosa); tagged so the log store can tell it apart.
SMOKE_ROW: tuple[float, ...] = (5.1, 3.5, 1.4, 0.2)
SMOKE_REQUEST_ID = "serving-smoke-test"


class SmokeTestFailed(Exception):
    """The new version answered, but not the way a served Iris model must."""


@functools.cache
def smoke_token() -> str:
    """This supervisor's secret, given to its scoring processes as ``IRIS_SMOKE_TOKEN``.

    The served model answers a request carrying it like any other but does not log it:
    checking a new version is not traffic. Only this process and its children know it.
    """
    return secrets.token_hex(16)


def smoke_body() -> dict[str, Any]:
    """A ``dataframe_split`` body with the smoke row, its request id and the smoke token."""
    return {
        "dataframe_split": {"columns": list(FEATURES), "data": [list(SMOKE_ROW)]},
        "params": {"request_id": SMOKE_REQUEST_ID, "smoke_token": smoke_token()},
    }


def check_smoke_response(status: int, payload: Any, version: str) -> None:
    """Raise SmokeTestFailed unless ``payload`` is one SPEC record served by ``version``."""
    if status != 200:
        raise SmokeTestFailed(f"smoke prediction answered HTTP {status}: {str(payload)[:300]}")
    records = payload.get("predictions") if isinstance(payload, dict) else None
    if not isinstance(records, list) or len(records) != 1 or not isinstance(records[0], dict):
        raise SmokeTestFailed(f"smoke prediction is not one record: {str(payload)[:300]}")
    record = records[0]
    missing = {"prediction", "class_index", "probabilities", "prediction_id", "model_version"}
    missing -= set(record)
    if missing:
        raise SmokeTestFailed(f"smoke prediction lacks {sorted(missing)}")
    if record["prediction"] not in CLASSES:
        raise SmokeTestFailed(f"smoke prediction {record['prediction']!r} is not an Iris class")
    probabilities = record["probabilities"]
    if not isinstance(probabilities, dict) or set(probabilities) != set(CLASSES):
        raise SmokeTestFailed(f"smoke probabilities are not per class: {probabilities!r}")
    if str(record["model_version"]) != str(version):
        raise SmokeTestFailed(
            f"smoke prediction came from version {record['model_version']!r}, not {version!r}"
        )


def smoke_test(base_url: str, version: str, timeout: float = 30.0) -> None:
    """POST the smoke row to ``base_url``/invocations and check the answer."""
    try:
        response = requests.post(f"{base_url}/invocations", json=smoke_body(), timeout=timeout)
    except requests.RequestException as exc:
        raise SmokeTestFailed(f"smoke prediction failed: {type(exc).__name__}: {exc}") from exc
    try:
        payload: Any = response.json()
    except ValueError:
        payload = response.text
    check_smoke_response(response.status_code, payload, version)
