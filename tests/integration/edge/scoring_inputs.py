"""Hypothesis strategies for hostile ``POST /invocations`` requests, in every MLflow format.

A case is a :class:`Case`: a content type (or none), a body as bytes, and how to send it
(through an HTTP client, or as raw bytes on a socket for bodies whose framing lies).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from hypothesis import strategies as st

from mlproject.config import FEATURES

from .scoring_bodies import CONTENT_TYPES, CSV, FORMATS, JSON, csv_body, deep_nesting, payload


@dataclass(frozen=True, repr=False)
class Case:
    """One request: ``content_type`` None means the header is left out."""

    content_type: str | None
    body: bytes
    raw: bytes | None = None  # when set, sent as is on a socket

    def describe(self) -> str:
        shown = self.raw if self.raw is not None else self.body
        return f"{self.content_type!r} {shown[:300]!r} ({len(shown)} bytes)"

    __repr__ = describe  # hypothesis prints cases; some are 70 kB


def _json_bytes(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


@st.composite
def http_case(draw) -> Case:
    """A well-framed request with a hostile body or content type."""
    kind = draw(
        st.sampled_from(["json", "json", "json", "csv", "truncated", "junk", "deep", "many"])
    )
    if kind == "many" and draw(st.integers(0, 3)) == 0:  # large bodies, around the row limit
        count = draw(st.sampled_from([9_999, 10_000, 10_001, 60_000]))
        rows = [[5.1, 3.5, 1.4, 0.2]] * count
        form = draw(st.sampled_from(["csv", *FORMATS]))
        if form == "csv":
            text = "\n".join([",".join(FEATURES), *(["5.1,3.5,1.4,0.2"] * count)])
            return Case(CSV, text.encode())
        records = [dict(zip(FEATURES, row, strict=True)) for row in rows]
        inner = {"columns": list(FEATURES), "data": rows} if form == "dataframe_split" else records
        return Case(JSON, _json_bytes({form: inner}))
    if kind == "csv":
        body = draw(csv_body())
        content_type = draw(st.sampled_from([CSV, CSV, CSV, f"{CSV}; charset=utf-8", JSON, None]))
        return Case(content_type, body)
    if kind == "junk":
        body = draw(st.binary(max_size=300))
    elif kind == "deep":
        body = draw(deep_nesting).encode()
        if draw(st.booleans()):
            body = b'{"dataframe_split": {"columns": [], "data": ' + body + b"}}"
    else:
        body = _json_bytes(draw(payload()))
        if kind == "truncated" and body:
            body = body[: draw(st.integers(0, len(body) - 1))]
    if draw(st.integers(0, 10)) == 0:
        body = body.replace(b'"', b"'")  # single quotes: not JSON
    if draw(st.integers(0, 2)):  # mostly the right type: the body is what is under test
        return Case(JSON, body)
    content_type = draw(st.one_of(st.sampled_from(CONTENT_TYPES), st.none(), st.text(max_size=30)))
    return Case(content_type, body)


@st.composite
def raw_case(draw) -> Case:
    """Bodies whose framing lies: short, over the limit, broken chunks, odd lengths."""
    body = _json_bytes(draw(payload()))
    kind = draw(st.sampled_from(["short", "oversized", "chunked", "length", "long_line"]))
    head = "POST /invocations HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n"
    if kind == "short":  # fewer bytes than announced, then the client stops sending
        cut = draw(st.integers(0, max(0, len(body) - 1)))
        raw = f"{head}Content-Length: {len(body) + draw(st.integers(1, 10**6))}\r\n\r\n".encode()
        raw += body[:cut]
    elif kind == "oversized":  # announced over SCORING_MAX_BODY: refused before the body
        size = draw(st.integers(16 * 2**20 + 1, 2**63 - 1))
        raw = f"{head}Content-Length: {size}\r\n\r\n".encode() + body[:100]
    elif kind == "chunked":
        size = draw(st.sampled_from([f"{len(body):x}", "zz", "-1", "ffffffffffffffffff", "0"]))
        raw = f"{head}Transfer-Encoding: chunked\r\n\r\n{size}\r\n".encode() + body
        raw += draw(st.sampled_from([b"\r\n0\r\n\r\n", b"\r\n", b""]))
    elif kind == "length":
        value = draw(st.sampled_from(["-1", "1e3", "0x10", "5, 6", " ", "99999999999999999999"]))
        raw = f"{head}Content-Length: {value}\r\n\r\n".encode() + body
    else:
        raw = f"{head}X-Long: {'a' * draw(st.integers(8000, 70000))}\r\n".encode()
        raw += f"Content-Length: {len(body)}\r\n\r\n".encode() + body
    return Case("application/json", body, raw=raw)


cases = st.one_of(http_case(), http_case(), http_case(), http_case(), raw_case())
