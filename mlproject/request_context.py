"""The id of the HTTP request being answered, for code that cannot see the request.

The serving edge gives every request an ``X-Request-ID``; the scoring process's ASGI
wrapper (``serving.asgi``) puts it here before MLflow's app handles the request. MLflow
runs ``predict`` through ``asyncio.to_thread``, which copies the context, so the pyfunc
reads the same value on its worker thread. Outside a request the value is None.

Kept free of imports from the rest of the package: the wrapper imports it right after
MLflow loaded the model, from the model's own copy of ``mlproject``.
"""

from __future__ import annotations

from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("iris_request_id", default=None)


def current_request_id() -> str | None:
    """The id the edge gave the request being answered, or None."""
    return REQUEST_ID.get()
