"""Domain errors, raised inside the sidecar and turned into JSON at the edge.

    SidecarError (500 internal_error)
    ├── InvalidParameter (400 invalid_parameter)   a query parameter or body field is wrong
    ├── Unauthorized (401 unauthorized)            missing or wrong bearer token
    ├── NotFound (404 not_found)                   no such prediction or job
    ├── Conflict (409 conflict)                    a retrain job is already queued or running
    └── Unavailable (503 unavailable)              not configured, or a dependency is missing

Every response body is ``{"error": code, "message": text}`` plus any ``extra`` fields.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)


class SidecarError(Exception):
    """Base class: an HTTP status, a stable error code and a message for humans."""

    status = 500
    error = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}


class InvalidParameter(SidecarError):
    status = 400
    error = "invalid_parameter"


class Unauthorized(SidecarError):
    status = 401
    error = "unauthorized"


class NotFound(SidecarError):
    status = 404
    error = "not_found"


class Conflict(SidecarError):
    status = 409
    error = "conflict"


class Unavailable(SidecarError):
    status = 503
    error = "unavailable"


def _body(error: str, message: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": error, "message": message, **(extra or {})}


def register_error_handlers(app: Flask) -> None:
    """Answer domain errors, Flask's HTTP errors and surprises alike as JSON."""

    @app.errorhandler(SidecarError)
    def _domain(exc: SidecarError):
        response = jsonify(_body(exc.error, exc.message, exc.extra))
        response.headers.update(exc.headers)
        return response, exc.status

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        response = jsonify(_body(code, exc.description or exc.name or "error"))
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, exc.code or 500

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    def _store_down(exc: Exception):
        logger.warning("log store unavailable: %s", str(exc).splitlines()[0][:300])
        return jsonify(_body("store_unavailable", "the log store is not reachable")), 503

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        logger.exception("unhandled error")
        return jsonify(_body("internal_error", "internal server error")), 500
