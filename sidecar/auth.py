"""Bearer-token protection for the write endpoints and the job reports; never falls open."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import current_app, request

from .errors import Unauthorized, Unavailable

F = TypeVar("F", bound=Callable)

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="iris-sidecar"'}


def check_bearer_token(configured: str | None, authorization: str | None) -> None:
    """Raise unless ``authorization`` is ``Bearer <configured>``.

    Without a configured token the endpoint is unavailable (503): an unset
    SIDECAR_TOKEN must never mean "anyone may write".
    """
    if not configured:
        raise Unavailable(
            "SIDECAR_TOKEN is not configured on the sidecar, so write endpoints are disabled"
        )
    scheme, _, supplied = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not supplied.strip():
        raise Unauthorized(
            "this endpoint needs an 'Authorization: Bearer <SIDECAR_TOKEN>' header",
            headers=_CHALLENGE,
        )
    if not tokens_match(supplied.strip(), configured):
        raise Unauthorized(
            "the bearer token is wrong",
            headers={"WWW-Authenticate": 'Bearer realm="iris-sidecar", error="invalid_token"'},
        )


def tokens_match(supplied: str, configured: str) -> bool:
    """True when the tokens are equal, in time that depends on neither (not even length).

    Both are hashed first: ``hmac.compare_digest`` is constant-time only for inputs of
    equal length, and would otherwise tell a caller how long the token is.
    """
    digest = hashlib.sha256
    return hmac.compare_digest(
        digest(supplied.encode("utf-8", "surrogatepass")).digest(),
        digest(configured.encode("utf-8", "surrogatepass")).digest(),
    )


def request_has_token() -> bool:
    """True when this request carries the configured bearer token (never raises).

    For reads that show more to the token's holder, e.g. the latest job's id.
    """
    configured = current_app.extensions["sidecar"].settings.project.sidecar_token
    scheme, _, supplied = (request.headers.get("Authorization") or "").partition(" ")
    if not configured or scheme.lower() != "bearer" or not supplied.strip():
        return False
    return tokens_match(supplied.strip(), configured)


def token_required(view: F) -> F:
    """Decorate a view so it runs only with the configured bearer token."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        settings = current_app.extensions["sidecar"].settings
        check_bearer_token(settings.project.sidecar_token, request.headers.get("Authorization"))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
