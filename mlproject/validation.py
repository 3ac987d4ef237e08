"""Input checks for a scoring batch: vectorised, before the estimator, precise messages.

A batch is a table with exactly the four feature columns, each a finite measurement in cm
between 0 and 100, with 1 to 10,000 rows. The first offending cells are named by row
(0-based position in the batch) and column, so a client can find them.

The common case (what MLflow's scoring server hands over: a frame of four numeric columns)
takes a NumPy-only fast path; anything else, and every refusal, takes the careful path,
which looks at each cell of a column that is not plainly numeric: booleans, bytes, complex
numbers, dates and durations are not measurements, whatever pandas would cast them to.
"""

from __future__ import annotations

import contextlib
import numbers
from typing import Any

import numpy as np
import pandas as pd

from mlproject.config import FEATURES, MAX_BATCH_ROWS, MAX_MEASUREMENT_CM
from mlproject.errors import InvalidInputError

# Cell problems in the order they are reported when one cell has several.
_CELL_PROBLEMS: tuple[tuple[str, str], ...] = (
    ("not_a_number", "is not a number"),
    ("missing_value", "is missing (null or NaN)"),
    ("not_finite", "is not finite"),
    ("negative", "is negative; measurements are lengths in cm"),
    ("too_large", f"is over {MAX_MEASUREMENT_CM:g} cm, not a plausible measurement"),
)
NOT_NUMBER, MISSING, NOT_FINITE, NEGATIVE, TOO_LARGE = 1, 2, 3, 4, 5
_SHOWN_CELLS = 3
_FEATURE_LIST = list(FEATURES)
_NUMERIC_KINDS = "fiu"


def validate_batch(data: Any) -> pd.DataFrame:
    """Check a batch and return it as float64 columns in the canonical feature order.

    Args:
        data: a DataFrame (as MLflow's scoring server passes it), or anything
            ``pandas.DataFrame`` accepts (a list of records, a dict of columns).

    Returns:
        A new DataFrame with exactly ``FEATURES`` as float64 columns, same row order.

    Raises:
        InvalidInputError: naming the reason, the first offending rows and columns.
    """
    return pd.DataFrame(validate_features(data), columns=_FEATURE_LIST)


def validate_features(data: Any) -> np.ndarray:
    """Like ``validate_batch``, but returns a (rows x 4) float64 array in FEATURES order."""
    if isinstance(data, pd.DataFrame):
        values = _fast_path(data)
        if values is not None:
            return values
    frame = _as_frame(data)
    _check_shape(frame)
    values, codes = _cell_codes(frame)
    if codes.any():
        raise _cell_error(frame, codes)
    return values


def _fast_path(frame: pd.DataFrame) -> np.ndarray | None:
    """The values when ``frame`` is plainly good; None to take the careful path."""
    names = frame.columns.tolist()
    if names != _FEATURE_LIST:
        if len(names) != len(FEATURES) or set(names) != set(FEATURES):
            return None
        frame = frame[_FEATURE_LIST]
    if not 0 < len(frame) <= MAX_BATCH_ROWS:
        return None
    values = frame.to_numpy()
    if values.dtype.kind not in _NUMERIC_KINDS:
        return None
    floats: np.ndarray = values.astype(np.float64, copy=False)  # pandas is untyped: Any
    with np.errstate(invalid="ignore"):
        if not ((floats >= 0.0) & (floats <= MAX_MEASUREMENT_CM)).all():
            return None  # NaN fails both comparisons
    return floats


def _as_frame(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    with contextlib.suppress(Exception):  # pandas raises many kinds for odd input
        return pd.DataFrame(data)
    try:
        # As plain objects, cells pandas cannot convert (an int like 10**400) reach the
        # per-cell checks, which name them.
        return pd.DataFrame(data, dtype=object)
    except Exception as exc:  # noqa: BLE001 - see above
        raise InvalidInputError(
            "not_a_table", f"Input is not a table of rows and columns: {exc}"
        ) from None


def _check_shape(frame: pd.DataFrame) -> None:
    rows = len(frame)
    if rows == 0:
        raise InvalidInputError("empty_batch", "The batch is empty: send at least one row.")
    if rows > MAX_BATCH_ROWS:
        raise InvalidInputError(
            "batch_too_large",
            f"The batch has {rows} rows; the limit is {MAX_BATCH_ROWS}. Split it.",
        )
    columns = [str(column) for column in frame.columns]
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise InvalidInputError(
            "duplicate_column",
            f"Column(s) {repeated} appear more than once; expected exactly {_FEATURE_LIST}.",
            field=repeated[0],
        )
    missing = [name for name in FEATURES if name not in columns]
    if missing:
        raise InvalidInputError(
            "missing_column",
            f"Missing column(s) {missing}; expected exactly {_FEATURE_LIST}.",
            field=missing[0],
        )
    extra = [name for name in columns if name not in FEATURES]
    if extra:
        raise InvalidInputError(
            "extra_column",
            f"Unexpected column(s) {extra}; expected exactly {_FEATURE_LIST}.",
            field=extra[0],
        )


def _cell_codes(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Numeric values (rows x features) and a problem code per cell (0 = fine)."""
    positions = {str(column): i for i, column in enumerate(frame.columns)}
    values = np.empty((len(frame), len(FEATURES)), dtype="float64")
    codes = np.zeros(values.shape, dtype="int8")
    for position, name in enumerate(FEATURES):
        raw = frame.iloc[:, positions[name]]
        column, code = _column(raw)
        with np.errstate(invalid="ignore"):
            code[(code == 0) & np.isnan(column)] = MISSING
            code[(code == 0) & np.isinf(column)] = NOT_FINITE
            code[(code == 0) & (column < 0)] = NEGATIVE
            code[(code == 0) & (column > MAX_MEASUREMENT_CM)] = TOO_LARGE
        codes[:, position] = code
        values[:, position] = column
    return values, codes


def _column(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """One column as float64, with NOT_NUMBER / TOO_LARGE already coded where they apply."""
    kind = raw.dtype.kind
    code = np.zeros(len(raw), dtype="int8")
    if kind in _NUMERIC_KINDS and not isinstance(raw.dtype, pd.api.extensions.ExtensionDtype):
        return raw.to_numpy(dtype="float64"), code
    cells = raw.to_numpy(dtype=object)
    column = np.full(len(cells), np.nan)
    text_at: list[int] = []
    for i, cell in enumerate(cells):
        if cell is None or cell is pd.NA or cell is pd.NaT:
            continue
        if isinstance(cell, bool | np.bool_) or not isinstance(cell, numbers.Real | str):
            code[i] = NOT_NUMBER  # booleans, bytes, complex, dates, durations, containers
        elif isinstance(cell, str):
            text_at.append(i)
        else:
            try:
                column[i] = float(cell)
            except OverflowError:  # an integer like 10**400: a number, and far too large
                column[i] = np.inf
                code[i] = TOO_LARGE
    if text_at:
        parsed = pd.to_numeric(pd.Series(cells[text_at], dtype=object), errors="coerce")
        parsed = parsed.to_numpy(dtype="float64", na_value=np.nan)
        column[text_at] = parsed
        code[np.array(text_at)[np.isnan(parsed)]] = NOT_NUMBER
    return column, code


def _cell_error(frame: pd.DataFrame, codes: np.ndarray) -> InvalidInputError:
    positions = {str(column): i for i, column in enumerate(frame.columns)}
    bad_rows, bad_columns = np.nonzero(codes)  # row-major: first rows first
    details = []
    for row, position in list(zip(bad_rows, bad_columns, strict=True))[:_SHOWN_CELLS]:
        name = FEATURES[position]
        _, text = _CELL_PROBLEMS[codes[row, position] - 1]
        value = frame.iloc[row, positions[name]]
        value = value.item() if isinstance(value, np.generic) else value
        details.append(f"row {row}, column '{name}': {_shown(value)} {text}")
    row_count = len(np.unique(bad_rows))
    more = len(bad_rows) - len(details)
    suffix = f" (and {more} more bad value(s); {row_count} row(s) in all)" if more > 0 else ""
    first_row, first_position = int(bad_rows[0]), int(bad_columns[0])
    reason, _ = _CELL_PROBLEMS[codes[first_row, first_position] - 1]
    return InvalidInputError(
        reason,
        "Invalid input: " + "; ".join(details) + suffix + ".",
        field=FEATURES[first_position],
        row=first_row,
    )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
