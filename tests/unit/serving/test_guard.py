"""The ASGI guard's pieces: JSON depth without parsing, and its answers (MLflow's app is
exercised for real, through HAProxy, in tests/integration/edge)."""

from __future__ import annotations

import asyncio
import json

from hypothesis import given
from hypothesis import strategies as st

from serving.guard import RequestGuard, json_depth, too_deep

_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
)
_JSON = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=40,
)


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(_JSON)
def test_the_depth_of_any_json_document_is_counted_exactly(value):
    body = json.dumps(value).encode()
    assert json_depth(body) == _depth(value)
    assert json_depth(json.dumps(value, ensure_ascii=False).encode()) == _depth(value)


def test_brackets_inside_strings_and_escaped_quotes_do_not_count():
    assert json_depth(b'{"a": "[[[[{{{", "b": "\\"[[[", "c": [1]}') == 2
    assert json_depth(b'"[[[[[[') == 0  # an unterminated string runs to the end


def test_a_hundred_thousand_brackets_are_measured_quickly_and_refused():
    assert json_depth(b"[" * 100_000) == 100_000
    assert too_deep(b"[" * 100_000, 64)
    assert not too_deep(b"[[1]]" * 1000, 64)  # many brackets, shallow


def test_stray_quotes_do_not_make_the_scan_quadratic():
    import time

    started = time.perf_counter()
    json_depth(b'\\"' * 500_000)
    assert time.perf_counter() - started < 5


def _call(guard: RequestGuard, headers: list[tuple[bytes, bytes]], chunks: list[bytes]):
    """Drive the guard with one request; return (status, body, what the inner app saw)."""
    seen: dict = {}

    async def inner(scope, receive, send):
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen["body"] = body
        seen["request_id"] = guard.request_id.get() if guard.request_id else None
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    guard.app = inner
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": "/invocations", "method": "POST", "headers": headers}
    asyncio.run(guard(scope, receive, send))
    status = sent[0]["status"] if sent else None
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return status, body, seen


def test_a_missing_content_type_is_415_in_mlflows_shape():
    status, body, seen = _call(RequestGuard(None), [], [b"{}"])
    assert status == 415
    assert set(json.loads(body)) == {"error_code", "message"}
    assert seen == {}


def test_a_streamed_body_over_the_limit_is_413_before_the_app_sees_it():
    headers = [(b"content-type", b"text/csv")]
    status, body, seen = _call(RequestGuard(None, max_body=10), headers, [b"123456", b"7890a"])
    assert status == 413
    assert json.loads(body)["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert seen == {}


def test_a_body_in_chunks_reaches_the_app_whole_with_the_request_id_set():
    from contextvars import ContextVar

    request_id: ContextVar[str | None] = ContextVar("test_request_id", default=None)
    headers = [(b"content-type", b"application/json"), (b"x-request-id", b"abc-1")]
    guard = RequestGuard(None, request_id=request_id)
    status, body, seen = _call(guard, headers, [b'{"inputs"', b": [[1]]}"])
    assert (status, body) == (200, b"ok")
    assert seen == {"body": b'{"inputs": [[1]]}', "request_id": "abc-1"}
    assert request_id.get() is None  # reset once the request is answered


def test_deep_json_is_400_and_csv_is_not_inspected():
    deep = b"[" * 70 + b"]" * 70
    status, _, seen = _call(RequestGuard(None), [(b"content-type", b"application/json")], [deep])
    assert status == 400 and seen == {}
    status, _, seen = _call(RequestGuard(None), [(b"content-type", b"text/csv")], [deep])
    assert status == 200 and seen["body"] == deep
