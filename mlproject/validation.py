"""Input checks for a scoring batch: vectorised, before the estimator, precise messages.

A batch is a table with exactly the four feature columns, each a finite measurement in cm
between 0 and 100, with 1 to 10,000 rows. The first offending cells are named by row
(0-based position in the batch) and column, so a client can find them.
"""

from __future__ import annotations

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
_SHOWN_CELLS = 3


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
    frame = _as_frame(data)
    rows = len(frame)
    if rows == 0:
        raise InvalidInputError("empty_batch", "The batch is empty: send at least one row.")
    if rows > MAX_BATCH_ROWS:
        raise InvalidInputError(
            "batch_too_large",
            f"The batch has {rows} rows; the limit is {MAX_BATCH_ROWS}. Split it.",
        )
    columns = [str(column) for column in frame.columns]
    missing = [name for name in FEATURES if name not in columns]
    if missing:
        raise InvalidInputError(
            "missing_column",
            f"Missing column(s) {missing}; expected exactly {list(FEATURES)}.",
            field=missing[0],
        )
    extra = [name for name in columns if name not in FEATURES]
    if extra:
        raise InvalidInputError(
            "extra_column",
            f"Unexpected column(s) {extra}; expected exactly {list(FEATURES)}.",
            field=extra[0],
        )
    frame = frame.set_axis(columns, axis=1)
    values, codes = _cell_codes(frame)
    if codes.any():
        raise _cell_error(frame, codes)
    return pd.DataFrame(values, columns=list(FEATURES))


def _as_frame(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    try:
        frame = pd.DataFrame(data)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            "not_a_table", f"Input is not a table of rows and columns: {exc}"
        ) from exc
    return frame


def _cell_codes(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Numeric values (rows x features) and a problem code per cell (0 = fine)."""
    values = np.empty((len(frame), len(FEATURES)), dtype="float64")
    codes = np.zeros(values.shape, dtype="int8")
    for position, name in enumerate(FEATURES):
        raw = frame[name]
        if pd.api.types.is_bool_dtype(raw):
            # A boolean is not a measurement; MLflow's own schema casts JSON booleans to
            # doubles before we see them, but direct callers get a clear refusal.
            numeric = pd.Series(np.nan, index=raw.index)
            not_number = np.ones(len(raw), dtype=bool)
        else:
            numeric = pd.to_numeric(raw, errors="coerce")
            if pd.api.types.is_numeric_dtype(raw):
                not_number = np.zeros(len(raw), dtype=bool)
            else:
                not_number = (numeric.isna() & raw.notna()).to_numpy()
        column = numeric.to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(column) & ~not_number
        infinite = np.isinf(column)
        with np.errstate(invalid="ignore"):
            negative = column < 0
            too_large = np.isfinite(column) & (column > MAX_MEASUREMENT_CM)
        code = np.zeros(len(column), dtype="int8")
        # Later assignments lose to earlier ones: assign in reverse priority.
        for number, mask in ((5, too_large), (4, negative), (3, infinite), (2, missing)):
            code[mask] = number
        code[not_number] = 1
        codes[:, position] = code
        values[:, position] = column
    return values, codes


def _cell_error(frame: pd.DataFrame, codes: np.ndarray) -> InvalidInputError:
    bad_rows, bad_columns = np.nonzero(codes)  # row-major: first rows first
    details = []
    for row, position in list(zip(bad_rows, bad_columns, strict=True))[:_SHOWN_CELLS]:
        name = FEATURES[position]
        _, text = _CELL_PROBLEMS[codes[row, position] - 1]
        value = frame[name].iloc[row]
        value = value.item() if isinstance(value, np.generic) else value
        details.append(f"row {row}, column '{name}': {value!r} {text}")
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
