"""Hypothesis strategies for the bodies of hostile ``POST /invocations`` requests.

Cells, columns and rows as clients bend them, every MLflow JSON format, and CSV with its
quirks (see scoring_inputs.py for how they become requests).
"""

from __future__ import annotations

import json
import math

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
