"""Hypothesis strategies for hostile ``POST /invocations`` requests, in every MLflow format.

A case is a :class:`Case`: a content type (or none), a body as bytes, and how to send it
(through an HTTP client, or as raw bytes on a socket for bodies whose framing lies).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from hypothesis import strategies as st

from mlproject.config import FEATURES

JSON = "application/json"
CSV = "text/csv"
CONTENT_TYPES = [
    JSON,
    JSON,
    CSV,
    f"{JSON}; charset=utf-8",
    f"{JSON}; charset=latin-1",
    f"{JSON}; format=pandas-split",
    f"{CSV}; charset=utf-8",
    f"{CSV}; charset=utf-16",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "application/json, text/csv",
    "json",
    ";;;",
    "application/\u00e9",
]
FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


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


def _finite_json_float(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


# One cell: mostly plausible measurements, then everything a client might send instead.
measurement = st.one_of(
    st.floats(min_value=0, max_value=100),
    st.floats(min_value=0, max_value=100),
    st.floats(allow_nan=True, allow_infinity=True).map(_finite_json_float),
    st.floats(min_value=-1e308, max_value=1e308),
    st.floats(min_value=-1e-300, max_value=1e-300),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([10**400, -(10**400), 2**63, 2**64, -(2**63) - 1]),
    st.sampled_from(["5.1", "1e309", "-0", "NaN", "Infinity", "0x10", "5,1", " 5.1 ", "1_000"]),
    st.text(max_size=12),
    st.booleans(),
    st.none(),
    st.lists(st.floats(min_value=0, max_value=10), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
column_name = st.one_of(
    st.sampled_from(FEATURES),
    st.sampled_from(FEATURES),
    st.sampled_from([f.upper() for f in FEATURES] + ["", " ", "species", "index", "0"]),
    st.text(max_size=16),
)
# The right columns most of the time; then missing, duplicated, renamed, extra ones.
columns = st.one_of(
    st.just(list(FEATURES)),
    st.permutations(list(FEATURES)),
    st.lists(column_name, max_size=7),
    st.lists(st.sampled_from(FEATURES), min_size=5, max_size=6),  # duplicates
)
any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats().map(_finite_json_float) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
deep_nesting = st.integers(min_value=30, max_value=5000).map(lambda n: "[" * n + "]" * n)


clean_rows = st.lists(
    st.lists(st.floats(min_value=0.1, max_value=30), min_size=4, max_size=4),
    min_size=1,
    max_size=10,
)


@st.composite
def rows_for(draw, names: list[str]) -> list[list]:
    if draw(st.integers(0, 2)) == 0:  # a third of the cases: well-formed rows
        return draw(clean_rows)
    width = st.one_of(st.just(len(names)), st.integers(min_value=0, max_value=8))
    count = draw(st.integers(min_value=0, max_value=12))
    return [
        draw(st.lists(measurement, min_size=(n := draw(width)), max_size=n)) for _ in range(count)
    ]


@st.composite
def payload(draw) -> dict | list:
    """A body in one of MLflow's JSON formats, bent in the ways clients bend them."""
    clean = draw(st.integers(0, 2)) == 0  # a third: a valid request, only the format varies
    names = list(FEATURES) if clean else draw(columns)
    rows = draw(clean_rows if clean else rows_for(names))
    form = draw(st.sampled_from(FORMATS))
    records = [dict(zip(names, row, strict=False)) for row in rows]
    if form == "dataframe_split":
        inner: object = {"columns": names, "data": rows}
        if draw(st.booleans()):
            inner["index"] = draw(st.lists(st.integers(-3, 3) | st.text(max_size=3), max_size=6))
        if not clean and draw(st.integers(0, 9)) == 0:
            inner = draw(any_json)
    elif form == "dataframe_records":
        inner = records if clean or draw(st.integers(0, 5)) else draw(any_json)
    elif form == "instances":
        inner = records if clean else draw(st.sampled_from([records, rows, rows[:1], [records]]))
    else:
        by_column = {
            name: [row[i] if i < len(row) else None for row in rows] for i, name in enumerate(names)
        }
        shapes = [records, by_column] if clean else [records, by_column, rows, {"x": by_column}]
        inner = draw(st.sampled_from(shapes))
    body: dict = {form: inner}
    if clean:
        return body
    if draw(st.integers(0, 6)) == 0:  # two formats at once, or a stray key
        body[draw(st.sampled_from([*FORMATS, "params", "extra", ""]))] = draw(any_json)
    if draw(st.integers(0, 4)) == 0:
        body["params"] = draw(
            st.one_of(
                st.fixed_dictionaries({"request_id": st.text(max_size=250)}),
                st.fixed_dictionaries({"request_id": any_json}),
                any_json,
            )
        )
    if draw(st.integers(0, 12)) == 0:
        return draw(any_json)
    return body


@st.composite
def csv_body(draw) -> bytes:
    """CSV with quirks: separators, quoting, BOM, line ends, blank lines, ragged rows."""
    if draw(st.integers(0, 2)) == 0:  # a third: what pandas.DataFrame.to_csv writes
        rows = draw(clean_rows)
        return "\n".join([",".join(FEATURES), *(",".join(map(repr, r)) for r in rows)]).encode()
    names = draw(columns)
    rows = draw(rows_for(names))
    sep = draw(st.sampled_from([",", ",", ";", "\t", "|", ", "]))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    quote = draw(st.sampled_from(["", '"', "'"]))

    def cell(value) -> str:
        text = json.dumps(value) if isinstance(value, list | dict) else str(value)
        return f"{quote}{text}{quote}"

    lines = [sep.join(cell(name) for name in names)] if draw(st.integers(0, 8)) else []
    lines += [sep.join(cell(value) for value in row) for row in rows]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["", sep, '"', "#"])))
    text = end.join(lines) + draw(st.sampled_from(["", end, end * 3]))
    prefix = draw(st.sampled_from(["", "", "\ufeff"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "latin-1"]))
    return (prefix + text).encode(encoding, errors="replace")


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
