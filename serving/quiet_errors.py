"""ASGI wrapper: MLflow's error answers lose their ``stack_trace`` before they leave.

MLflow 3.17's ``/invocations`` puts a Python traceback (file paths of the installation,
the code that failed) into the JSON of some 400s: a body that is not CSV or JSON, and a
model that raised. A client needs the ``message`` (it names the cause), never the trace.
This wrapper holds back the start of every ``/invocations`` answer with status >= 400
and a JSON type, reads its (small) body, drops the ``stack_trace`` key and sends the rest
with a corrected length. Successful answers and other routes pass through untouched.
Pure ASGI, no ``mlproject`` import (see ``serving.asgi``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Callable, Send], Awaitable[None]]

HIDDEN_KEYS = ("stack_trace",)


def scrub(body: bytes) -> bytes:
    """``body`` without the hidden keys when it is a JSON object, else unchanged."""
    try:
        document = json.loads(body)
    except ValueError:
        return body
    if not isinstance(document, dict) or not any(key in document for key in HIDDEN_KEYS):
        return body
    return json.dumps({k: v for k, v in document.items() if k not in HIDDEN_KEYS}).encode()


class HideStackTraces:
    """Wraps ``app``; see the module's docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope, receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/invocations":
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        body = bytearray()

        async def filtered(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and _is_json_error(message):
                held = message
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            payload = scrub(bytes(body))
            headers = [(k, v) for k, v in held.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(payload)).encode()))
            await send({**held, "headers": headers})
            await send({"type": "http.response.body", "body": payload})

        await self.app(scope, receive, filtered)


def _is_json_error(start: Message) -> bool:
    if start.get("status", 200) < 400:
        return False
    for name, value in start.get("headers", []):
        if name.lower() == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == b"application/json"
    return False
