"""Pieces of the operations' descriptions: answers, query parameters, the common errors."""

from __future__ import annotations

from typing import Any

from .schema_parts import ref


def answer(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(schema)}}}


def error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {**answer("Error", description), **({"headers": headers} if headers else {})}


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def integer(low: int, high: int, default: int) -> dict[str, Any]:
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
STORE_DOWN = error("the log store is not reachable")
TOO_LARGE = error("the body is larger than 64 KiB")
RATE_LIMITED = error(
    "too many requests from this client; retry after Retry-After seconds",
    headers={"Retry-After": {"schema": {"type": "integer", "minimum": 1}}},
)
UNAUTHORIZED = error(
    "missing or wrong bearer token",
    headers={"WWW-Authenticate": {"schema": {"type": "string"}}},
)
NO_TOKEN_CONFIGURED = error("SIDECAR_TOKEN is not configured, or a dependency is missing")


def reads(schema: str, description: str, *extra: tuple[str, dict]) -> dict[str, Any]:
    """The usual answers of a read: 200, 400 for a bad parameter, 503 when the store is down."""
    return {
        "200": answer(schema, description),
        "400": BAD_PARAMETER,
        "503": STORE_DOWN,
        **dict(extra),
    }
