"""Domain errors, raised inside the sidecar and turned into JSON at the edge.

    SidecarError (500 internal_error)
    ├── InvalidParameter (400 invalid_parameter)   a query parameter or body field is wrong
    ├── Unauthorized (401 unauthorized)            missing or wrong bearer token
    ├── NotFound (404 not_found)                   no such job
    │   └── UnknownPrediction                      no such prediction in the store
    ├── Conflict (409 conflict)                    a retrain job is already queued or running
    ├── TooManyRequests (429 too_many_requests)    a client's rate limit; Retry-After says when
    └── Unavailable (503 unavailable)              not configured, or a dependency is missing

Errors from elsewhere are mapped here too: the retrain runner's JobAlreadyRunning is 409
``conflict`` and JobLaunchFailed 503 ``unavailable``, each with the ``job_id`` concerned;
the log store down (SQLAlchemy's
OperationalError, InterfaceError) is 503 ``store_unavailable``; a value the database
refuses (DataError, e.g. text it cannot hold) is 400; Flask's HTTP errors keep their
status; anything else is a 500 that says nothing about why.

Every response body is ``{"error": code, "message": text}`` plus any ``extra`` fields, and
none carries a stack trace, SQL or a setting's value.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from .retrain.errors import JobAlreadyRunning, JobLaunchFailed

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


class UnknownPrediction(NotFound):
    """The log store holds no prediction with this id."""


class Conflict(SidecarError):
    status = 409
    error = "conflict"


class TooManyRequests(SidecarError):
    status = 429
    error = "too_many_requests"


class Unavailable(SidecarError):
    status = 503
    error = "unavailable"


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The exception's class and the first line of its message, for logs.

    SQLAlchemy appends the statement and its parameters (user data) on later lines, and
    drivers add background links; neither belongs in a log line or a response.
    """
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:limit] if lines else ''}"


def _body(error: str, message: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": error, "message": message, **(extra or {})}


def register_error_handlers(app: Flask) -> None:
    """Answer domain errors, Flask's HTTP errors and surprises alike as JSON."""

    @app.errorhandler(SidecarError)
    def _domain(exc: SidecarError):
        response = jsonify(_body(exc.error, exc.message, exc.extra))
        response.headers.update(exc.headers)
        return response, exc.status

    @app.errorhandler(JobAlreadyRunning)
    def _job_running(exc: JobAlreadyRunning):
        return _domain(Conflict(str(exc), extra={"job_id": exc.job_id}))

    @app.errorhandler(JobLaunchFailed)
    def _job_not_started(exc: JobLaunchFailed):
        return _domain(Unavailable(str(exc), extra={"job_id": exc.job_id}))

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
        logger.warning("log store unavailable: %s", first_line(exc))
        return jsonify(_body("store_unavailable", "the log store is not reachable")), 503

    @app.errorhandler(sa.exc.DataError)
    def _refused_value(exc: Exception):
        logger.info("the log store refused a request's value: %s", first_line(exc))
        message = "the log store cannot use a value in this request; check its parameters"
        return jsonify(_body(InvalidParameter.error, message)), 400

    @app.errorhandler(sa.exc.SQLAlchemyError)
    def _store_error(exc: Exception):
        # No traceback: its frames' SQL and parameters would carry user data into the log.
        logger.error("log store error: %s", first_line(exc))
        return jsonify(_body("internal_error", "internal server error")), 500

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        logger.exception("unhandled error")
        return jsonify(_body("internal_error", "internal server error")), 500
