"""Checks on a scoring request beyond its features: the request id and a repeated-row index.

The served model (``mlproject.pyfunc``) runs them before predicting; a failed check is an
InvalidInputError, answered with HTTP 400 and logged as a rejection.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from mlproject.config import MAX_REQUEST_ID_CHARS
from mlproject.errors import InvalidInputError

# Control characters (NUL included: PostgreSQL cannot store it) become U+FFFD in request ids.
UNPRINTABLE = dict.fromkeys((*range(0x20), *range(0x7F, 0xA0)), "\ufffd")


def printable(text: str) -> str:
    """``text`` with control characters replaced by U+FFFD."""
    return text.translate(UNPRINTABLE)


def request_id(params: dict[str, Any] | None) -> str | None:
    """The caller's id for this request, as given (checked by ``checked_request_id``)."""
    value = (params or {}).get("request_id")
    if value in (None, ""):
        # The edge's X-Request-ID, set by serving.asgi for this request (None elsewhere).
        from mlproject.request_context import current_request_id

        value = current_request_id()
    return None if value in (None, "") else str(value)


def checked_request_id(value: str | None) -> str | None:
    """``value`` with control characters replaced; InvalidInputError if it is too long."""
    if value is None:
        return None
    shown = printable(value)
    if len(value) > MAX_REQUEST_ID_CHARS:
        raise InvalidInputError(
            "request_id_too_long",
            f"params.request_id has {len(value)} characters; the limit is {MAX_REQUEST_ID_CHARS}.",
            field="request_id",
        )
    return shown


def refuse_repeated_index(data: Any) -> None:
    """Refuse a frame whose explicit index made pandas repeat one row.

    ``{"dataframe_split": {"index": [0, 1, 2], "data": [[...]]}}`` reaches the model as three
    copies of the one row: pandas broadcasts a single row over a longer index inside
    MLflow's parsing. A client sending real rows never needs an index, so a frame with an
    explicit (non-default) index whose rows are all one repeated row is refused.
    """
    if not isinstance(data, pd.DataFrame) or len(data) < 2:
        return
    if isinstance(data.index, pd.RangeIndex):
        return
    if data.duplicated(keep="first").iloc[1:].all():
        raise InvalidInputError(
            "repeated_row",
            f"The batch has {len(data)} rows that are all the same row and an explicit "
            "index: dataframe_split repeats a single data row over a longer 'index'. Send "
            "one row per entry of 'data', without 'index'.",
        )
