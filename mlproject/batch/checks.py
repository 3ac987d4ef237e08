"""The pyfunc's input rules (``mlproject.validation``) as Spark expressions, one verdict per row.

The served model refuses a whole request for one bad cell; a batch job must not fail a
whole file (or a whole Arrow batch) for one bad row. So every row is checked here, in the
JVM, before any row reaches the pyfunc: good rows are scored, bad rows go to the errors
output with the first bad column, the same reason code the pyfunc would give (see
``mlproject.validation``: ``not_a_number``, ``missing_value``, ``not_finite``, ``negative``,
``too_large``) and a message in the same words.

Cells are read as they come: text (CSV is read as text, so ``"abc"`` survives to be
reported) is parsed with ``try_cast``; booleans, dates and other non-numeric types are not
measurements. An empty CSV cell or ``NaN`` is a missing value.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mlproject.config import FEATURES, MAX_MEASUREMENT_CM

REASON, COLUMN, VALUE, MESSAGE = "reason", "column", "value", "message"
# Reason code -> the words the pyfunc's validation uses for it.
PROBLEMS: dict[str, str] = {
    "not_a_number": "is not a number",
    "missing_value": "is missing (null or NaN)",
    "not_finite": "is not finite",
    "negative": "is negative; measurements are lengths in cm",
    "too_large": f"is over {MAX_MEASUREMENT_CM:g} cm, not a plausible measurement",
}
_NUMERIC = (
    T.ByteType,
    T.ShortType,
    T.IntegerType,
    T.LongType,
    T.FloatType,
    T.DoubleType,
    T.DecimalType,
)


class MissingFeatureError(ValueError):
    """The input has no column for a feature: every row would be bad, so the job stops."""


def require_features(frame: DataFrame) -> None:
    """Raise MissingFeatureError naming the feature columns the input lacks."""
    missing = [name for name in FEATURES if name not in frame.columns]
    if missing:
        raise MissingFeatureError(
            f"the input has no column(s) {missing}; expected {list(FEATURES)} "
            f"(it has {frame.columns})"
        )


def as_number(frame: DataFrame, name: str) -> Column:
    """The column as a double, or null where it cannot be one (text that is not a number)."""
    data_type = frame.schema[name].dataType
    column = F.col(f"`{name}`")
    if isinstance(data_type, _NUMERIC):
        return column.cast("double")
    if isinstance(data_type, T.StringType):
        return column.try_cast("double")
    return F.lit(None).cast("double")  # booleans, dates, binary...: not measurements


def cell_reason(frame: DataFrame, name: str) -> Column:
    """The reason code of the cell's first problem, in validation's order; null when fine."""
    raw, number = F.col(f"`{name}`"), as_number(frame, name)
    return (
        F.when(raw.isNull(), F.lit("missing_value"))
        .when(number.isNull(), F.lit("not_a_number"))
        .when(F.isnan(number), F.lit("missing_value"))
        .when(F.abs(number) == F.lit(float("inf")), F.lit("not_finite"))
        .when(number < 0, F.lit("negative"))
        .when(number > MAX_MEASUREMENT_CM, F.lit("too_large"))
    )


def with_verdict(frame: DataFrame) -> DataFrame:
    """``frame`` plus ``reason``, ``column``, ``value`` and ``message`` (all null: a good row).

    The verdict names the first bad feature column in FEATURES order, like the pyfunc.
    """
    require_features(frame)
    reasons = [(name, cell_reason(frame, name)) for name in FEATURES]
    reason = F.coalesce(*(code for _, code in reasons))
    column = F.coalesce(*(F.when(code.isNotNull(), F.lit(name)) for name, code in reasons))
    value = F.coalesce(
        *(F.when(code.isNotNull(), F.col(f"`{name}`").cast("string")) for name, code in reasons)
    )
    words = F.coalesce(*(F.when(reason == code, F.lit(text)) for code, text in PROBLEMS.items()))
    message = F.format_string(
        "column '%s': %s %s",
        column,
        F.coalesce(F.concat(F.lit("'"), value, F.lit("'")), F.lit("null")),
        words,
    )
    return frame.select(
        "*",
        reason.alias(REASON),
        column.alias(COLUMN),
        value.alias(VALUE),
        F.when(reason.isNotNull(), message).alias(MESSAGE),
    )


def features_as_doubles(frame: DataFrame) -> DataFrame:
    """The feature columns replaced by their double values (for rows that passed)."""
    return frame.withColumns({name: as_number(frame, name) for name in FEATURES})
