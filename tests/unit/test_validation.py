"""Every refusal the validator makes, with the row and column it names."""

from __future__ import annotations

import datetime
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlproject.config import FEATURES, MAX_BATCH_ROWS
from mlproject.errors import InvalidInputError
from mlproject.validation import validate_batch, validate_features

GOOD = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


def refusal(data) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        validate_batch(data)
    return caught.value


def test_a_good_batch_comes_back_as_floats_in_feature_order():
    frame = pd.DataFrame([dict(reversed(list(GOOD.items())))])
    result = validate_batch(frame)
    assert list(result.columns) == list(FEATURES)
    assert all(dtype == np.float64 for dtype in result.dtypes)
    assert result.iloc[0].tolist() == [5.1, 3.5, 1.4, 0.2]


def test_integers_and_numeric_strings_are_accepted_as_measurements():
    result = validate_batch([{**GOOD, "sepal_length": 5, "petal_width": "0.25"}])
    assert result.iloc[0]["sepal_length"] == 5.0
    assert result.iloc[0]["petal_width"] == 0.25


def test_an_empty_batch_is_refused():
    error = refusal(pd.DataFrame(columns=list(FEATURES)))
    assert error.reason == "empty_batch"


def test_a_batch_over_the_limit_is_refused_and_one_at_the_limit_is_not():
    assert len(validate_batch(pd.DataFrame([GOOD] * MAX_BATCH_ROWS))) == MAX_BATCH_ROWS
    error = refusal(pd.DataFrame([GOOD] * (MAX_BATCH_ROWS + 1)))
    assert error.reason == "batch_too_large"
    assert str(MAX_BATCH_ROWS) in str(error)


def test_a_missing_column_is_named():
    error = refusal([{k: v for k, v in GOOD.items() if k != "petal_width"}])
    assert (error.reason, error.field) == ("missing_column", "petal_width")
    assert "petal_width" in str(error)


def test_an_extra_column_is_named():
    error = refusal([{**GOOD, "colour": 1.0}])
    assert (error.reason, error.field) == ("extra_column", "colour")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", "not_a_number"),
        (True, "not_a_number"),
        (None, "missing_value"),
        (float("nan"), "missing_value"),
        (float("inf"), "not_finite"),
        (float("-inf"), "not_finite"),
        (-0.1, "negative"),
        (100.01, "too_large"),
        (1e9, "too_large"),
    ],
)
@pytest.mark.parametrize("column", FEATURES)
def test_a_bad_value_is_refused_naming_its_row_and_column(value, reason, column):
    rows = [dict(GOOD), dict(GOOD), {**GOOD, column: value}]
    if reason == "not_a_number" and isinstance(value, bool):
        # A whole column of booleans is a boolean column, which is what a caller would send.
        rows = [{**row, column: True} for row in rows]
        expected_row = 0
    else:
        expected_row = 2
    error = refusal(pd.DataFrame(rows))
    assert (error.reason, error.field, error.row) == (reason, column, expected_row)
    assert f"row {expected_row}, column '{column}'" in str(error)


def test_boundary_values_zero_and_one_hundred_are_accepted():
    result = validate_batch([{**GOOD, "sepal_length": 0.0, "petal_length": 100.0}])
    assert result.iloc[0]["petal_length"] == 100.0


def test_the_first_offending_rows_are_named_and_the_message_stays_short():
    rows = [{**GOOD, "sepal_width": -1.0} for _ in range(5000)]
    error = refusal(pd.DataFrame(rows))
    message = str(error)
    assert "row 0, column 'sepal_width'" in message
    assert "row 2, column 'sepal_width'" in message
    assert "5000 row(s)" in message
    assert len(message) < 500


def test_cells_are_reported_in_row_order_across_columns():
    rows = [dict(GOOD), {**GOOD, "petal_width": -1.0}, {**GOOD, "sepal_length": "x"}]
    error = refusal(pd.DataFrame(rows))
    assert (error.row, error.field, error.reason) == (1, "petal_width", "negative")
    assert str(error).index("row 1") < str(error).index("row 2")


def test_something_that_is_not_a_table_is_refused():
    error = refusal(object())
    assert error.reason in {"not_a_table", "missing_column"}


def test_validation_does_not_change_the_callers_frame():
    frame = pd.DataFrame([{**GOOD, "sepal_length": "5.5"}])
    validate_batch(frame)
    assert frame.loc[0, "sepal_length"] == "5.5"
    assert not math.isnan(validate_batch(frame).iloc[0, 0])


@pytest.mark.parametrize(
    "value",
    [complex(5.1, 0.0), b"5.1", datetime.timedelta(seconds=5), pd.Timestamp("2025-01-01"), [5.1]],
    ids=["complex", "bytes", "timedelta", "timestamp", "list"],
)
def test_a_value_pandas_could_cast_but_that_is_no_measurement_is_refused(value):
    error = refusal([dict(GOOD), {**GOOD, "sepal_width": value}])
    # pandas makes the whole column complex when one cell is: then every row is refused.
    expected_row = 0 if isinstance(value, complex) else 1
    assert (error.reason, error.field, error.row) == ("not_a_number", "sepal_width", expected_row)


def test_a_boolean_among_numbers_in_an_object_column_is_refused():
    frame = pd.DataFrame({**{k: [v, v] for k, v in GOOD.items()}, "petal_width": [0.2, True]})
    assert frame["petal_width"].dtype == object
    error = refusal(frame)
    assert (error.reason, error.field, error.row) == ("not_a_number", "petal_width", 1)


@pytest.mark.parametrize("dtype", ["complex128", "timedelta64[ns]", "bool"])
def test_a_whole_column_of_the_wrong_kind_is_refused(dtype):
    frame = pd.DataFrame([GOOD, GOOD])
    frame["sepal_length"] = np.array([1, 2]).astype(dtype)
    assert refusal(frame).reason == "not_a_number"


def test_an_integer_too_large_for_a_float_is_refused_as_too_large():
    error = refusal([{**GOOD, "petal_length": 10**400}])
    assert (error.reason, error.field, error.row) == ("too_large", "petal_length", 0)
    assert len(str(error)) < 500


def test_duplicate_column_names_are_refused_by_name():
    frame = pd.DataFrame([[5.1, 3.5, 1.4, 0.2, 9.9]], columns=[*FEATURES, "sepal_width"])
    error = refusal(frame)
    assert (error.reason, error.field) == ("duplicate_column", "sepal_width")


def test_nullable_and_string_dtypes_are_read_as_measurements():
    frame = pd.DataFrame([GOOD, GOOD]).astype({"sepal_length": "Float64", "petal_width": "string"})
    assert validate_batch(frame).iloc[1].tolist() == [5.1, 3.5, 1.4, 0.2]
    frame.loc[1, "sepal_length"] = pd.NA
    assert refusal(frame).reason == "missing_value"


cell = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from(["5.1", "abc", "", "-1", "1e400", None, True]),
)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(cell, min_size=4, max_size=4), min_size=1, max_size=6))
def test_the_fast_path_and_the_careful_path_agree_on_any_frame(rows):
    frame = pd.DataFrame(rows, columns=list(FEATURES))
    try:
        fast = validate_features(frame).tolist()
    except InvalidInputError as error:
        fast = (error.reason, error.field, error.row)
    try:
        careful = validate_features(frame.to_dict("records")).tolist()
    except InvalidInputError as error:
        careful = (error.reason, error.field, error.row)
    assert fast == careful
