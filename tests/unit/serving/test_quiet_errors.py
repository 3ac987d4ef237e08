"""serving.quiet_errors: MLflow's error answers leave without their stack trace."""

from __future__ import annotations

import asyncio
import json

from serving.quiet_errors import HideStackTraces, scrub

TRACE = 'Traceback (most recent call last):\n  File "/x/site-packages/mlflow/..."'


def run(app, path: str = "/invocations") -> tuple[dict, bytes]:
    """Call ``app`` once; return its start message and its whole body."""
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": path, "method": "POST", "headers": []}
    asyncio.run(app(scope, receive, send))
    return sent[0], b"".join(m.get("body", b"") for m in sent[1:])


def answering(status: int, body: bytes, content_type: bytes = b"application/json"):
    async def app(scope, receive, send):
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        half = len(body) // 2  # in two parts, as a streaming app may send it
        await send({"type": "http.response.body", "body": body[:half], "more_body": True})
        await send({"type": "http.response.body", "body": body[half:]})

    return app


def test_an_error_answer_loses_its_stack_trace_and_keeps_its_message_and_a_right_length():
    error = {"error_code": "BAD_REQUEST", "message": "No columns", "stack_trace": TRACE}
    start, body = run(HideStackTraces(answering(400, json.dumps(error).encode())))
    assert start["status"] == 400
    assert json.loads(body) == {"error_code": "BAD_REQUEST", "message": "No columns"}
    assert dict(start["headers"])[b"content-length"] == str(len(body)).encode()


def test_successes_other_types_and_other_routes_pass_untouched():
    success = json.dumps({"predictions": [], "stack_trace": "kept: not an error"}).encode()
    assert run(HideStackTraces(answering(200, success)))[1] == success
    text = b"This predictor only supports ... Traceback"
    assert run(HideStackTraces(answering(415, text, b"text/plain")))[1] == text
    error = json.dumps({"stack_trace": TRACE}).encode()
    assert run(HideStackTraces(answering(400, error)), path="/ping")[1] == error


def test_a_body_that_is_not_a_json_object_is_left_as_it_is():
    for body in (b"not json", b"[1, 2]", b'{"message": "no trace here"}'):
        assert scrub(body) == body
