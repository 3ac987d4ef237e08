"""ASGI middleware in front of MLflow's scoring app: bad input gets a 4xx, never a 500.

MLflow 3.17's ``/invocations`` answers 500 for two kinds of client error: a request with
no ``Content-Type`` (it splits ``None``), and JSON nested deeper than Python's recursion
limit (``[`` x 100,000 raises RecursionError in ``json.loads``, also inside
``dataframe_split``). This wrapper answers those itself, in MLflow's error shape
(``{"error_code", "message"}``), and hands everything else to MLflow's app unchanged:

* no ``Content-Type``                      -> 415 (MLflow's own 415 covers unknown types)
* a body over ``max_body`` bytes           -> 413 (HAProxy refuses declared lengths first;
                                              this catches chunked bodies, which have none)
* JSON nested deeper than ``max_depth``    -> 400
* ``X-Request-ID`` -> ``request_id`` context variable, read by the pyfunc (see
  ``mlproject.request_context``).

It reads the body once and replays it to MLflow's app, which reads it whole anyway.
Pure ASGI (no Starlette import) so it composes with other wrappers around the same app.
This module must not import ``mlproject``: see ``serving.asgi`` for why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from itertools import accumulate
from typing import Any

import numpy as np

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_BODY = 16 * 1024 * 1024
# Iris bodies nest 3 or 4 levels; MLflow's tensor inputs a few more. Python's own limit
# (about 1,000 levels, fewer on a worker thread's stack) is far above anything legitimate.
DEFAULT_MAX_DEPTH = 64

_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NUMPY_FROM = 4096  # below this, numpy's per-call overhead costs more than a C loop
# A JSON string, escapes included; an unterminated one runs to the end. Possessive, so a
# body full of stray quotes stays linear.
_STRING = re.compile(rb'"(?:[^"\\]|\\.?)*+(?:"|\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(body: bytes) -> int:
    """Deepest nesting of ``[`` / ``{`` outside strings (exact for valid JSON).

    For invalid JSON the count is exact up to the first error, which is as far as
    ``json.loads`` would recurse before failing on it.
    """
    # Each bracket becomes a signed step: +1 for an opener, -1 for a closer.
    steps = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS).translate(_STEPS)
    if len(steps) < _NUMPY_FROM:
        return max(0, max(accumulate(memoryview(steps).cast("b")), default=0))
    return max(0, int(np.frombuffer(steps, np.int8).cumsum().max()))


def too_deep(body: bytes, limit: int) -> bool:
    """True when ``body`` nests deeper than ``limit``; cheap when it cannot."""
    # Nesting deeper than the limit needs more openers than the limit: most bodies stop here.
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    return json_depth(body) > limit


def error_body(error_code: str, message: str) -> bytes:
    """MLflow's error shape."""
    return json.dumps({"error_code": error_code, "message": message}).encode()


class RequestGuard:
    """Checks POST /invocations before MLflow's app sees it; other routes pass through."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        max_depth: int = DEFAULT_MAX_DEPTH,
        request_id: ContextVar[str | None] | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_depth = max_depth
        self.request_id = request_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/invocations":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        token = None
        if self.request_id is not None and headers.get(b"x-request-id"):
            token = self.request_id.set(headers[b"x-request-id"].decode("latin-1")[:200])
        try:
            await self._checked(scope, receive, send, headers)
        finally:
            if token is not None:
                self.request_id.reset(token)

    async def _checked(self, scope: Scope, receive: Receive, send: Send, headers) -> None:
        if scope["method"] != "POST":
            await self.app(scope, receive, send)  # MLflow's own 405
            return
        content_type = headers.get(b"content-type")
        if content_type is None:
            await _reply(
                send,
                415,
                "BAD_REQUEST",
                "Content-Type is missing: send application/json (MLflow's JSON formats) "
                "or text/csv.",
            )
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before its body was complete: nothing to answer
            body += message.get("body", b"")
            if len(body) > self.max_body:
                await _reply(
                    send,
                    413,
                    "REQUEST_LIMIT_EXCEEDED",
                    f"request body is over the limit of {self.max_body} bytes",
                )
                return
            if not message.get("more_body", False):
                break
        mime = content_type.split(b";", 1)[0].strip().lower()
        if mime == b"application/json" and too_deep(bytes(body), self.max_depth):
            await _reply(
                send,
                400,
                "MALFORMED_REQUEST",
                f"JSON is nested more than {self.max_depth} levels deep",
            )
            return
        await self.app(scope, _replay(bytes(body), receive), send)


def _headers(scope: Scope) -> dict[bytes, bytes]:
    # Lower-case names (ASGI guarantees it); the last occurrence wins, as in Starlette.
    return dict(scope.get("headers", []))


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive() that yields ``body`` once, then defers to the real one (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _reply(send: Send, status: int, error_code: str, message: str) -> None:
    payload = error_body(error_code, message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
