"""Query-string parsing: each bad parameter is an InvalidParameter naming it and why."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from datetime import datetime

from werkzeug.datastructures import MultiDict

from .errors import InvalidParameter
from .timeutil import parse_timestamp

MAX_TIMESTAMP_LENGTH = 64
SHOWN_CHARACTERS = 40  # of a refused value, echoed in the error message
_CURSOR_PREFIX = "seq:"
_CURSOR_PATTERN = re.compile(r"seq:([1-9][0-9]{0,17})")


def shown(value: object) -> str:
    """``repr(value)`` cut to a few dozen characters: enough to recognise, never a flood."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 1] + "…"


def query_args(args: MultiDict, allowed: Iterable[str]) -> dict[str, str]:
    """The query parameters as a dict, refusing unknown and repeated names."""
    allowed = tuple(allowed)
    result: dict[str, str] = {}
    for name in args:
        if name not in allowed:
            raise InvalidParameter(
                f"unknown query parameter {shown(name)}; allowed: {', '.join(allowed)}",
                extra={"parameter": name[:SHOWN_CHARACTERS]},
            )
        values = args.getlist(name)
        if any("\x00" in value for value in values):
            # PostgreSQL text cannot hold NUL: refuse it here, for every parameter alike.
            raise InvalidParameter(f"{name} contains a NUL character", extra={"parameter": name})
        if len(values) > 1:
            raise InvalidParameter(
                f"{name!r} given {len(values)} times; give it once", extra={"parameter": name}
            )
        result[name] = values[0]
    return result


def bounded_int(name: str, text: str | None, low: int, high: int, default: int) -> int:
    """An integer in ``low..high``, ``default`` when absent."""
    if text is None:
        return default
    if not re.fullmatch(r"[+-]?[0-9]{1,9}", text.strip()):
        raise InvalidParameter(
            f"{name} must be an integer from {low} to {high}, got {shown(text)}",
            extra={"parameter": name},
        )
    value = int(text)
    if not low <= value <= high:
        raise InvalidParameter(
            f"{name} must be from {low} to {high}, got {value}", extra={"parameter": name}
        )
    return value


def one_of(name: str, text: str | None, choices: Iterable[str]) -> str | None:
    """``text`` if it is one of ``choices`` (None stays None)."""
    choices = tuple(choices)
    if text is None or text in choices:
        return text
    raise InvalidParameter(
        f"{name} must be one of {', '.join(choices)}, got {shown(text)}",
        extra={"parameter": name},
    )


def short_text(name: str, text: str | None, max_length: int) -> str | None:
    """A non-empty string of at most ``max_length`` characters (None stays None)."""
    if text is None:
        return None
    if not text or len(text) > max_length:
        raise InvalidParameter(
            f"{name} must be 1 to {max_length} characters long", extra={"parameter": name}
        )
    return text


def timestamp(name: str, text: str | None) -> datetime | None:
    """An ISO-8601 timestamp as aware UTC (naive means UTC; None stays None).

    Refused: anything but ISO-8601, more than ``MAX_TIMESTAMP_LENGTH`` characters, and
    moments outside years 1 to 9999 once in UTC (0001-01-01T00:00:00+14:00 is one).
    """
    if text is None:
        return None
    try:
        if len(text) > MAX_TIMESTAMP_LENGTH:
            raise ValueError("too long")
        return parse_timestamp(text)
    except ValueError:
        raise InvalidParameter(
            f"{name} must be an ISO-8601 timestamp from year 1 to 9999 in UTC, such as "
            f"2024-05-01T12:00:00Z, got {shown(text)}",
            extra={"parameter": name},
        ) from None


def encode_cursor(seq: int) -> str:
    """The opaque cursor that continues after ``seq``."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(name: str, text: str | None) -> int | None:
    """The ``seq`` inside a cursor made by ``encode_cursor`` (None stays None)."""
    if text is None:
        return None
    invalid = InvalidParameter(
        f"{name} is not a cursor this endpoint issued; pass next_cursor from a previous page",
        extra={"parameter": name},
    )
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", text):
        raise invalid
    try:
        decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise invalid from None
    match = _CURSOR_PATTERN.fullmatch(decoded)
    if not match:
        raise invalid
    return int(match.group(1))
