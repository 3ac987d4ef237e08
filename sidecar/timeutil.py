"""Timestamps are stored and compared in UTC; SQLite hands them back naive."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def isoformat(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with an explicit offset, or None."""
    return None if value is None else as_utc(value).isoformat()


def parse_timestamp(text: str) -> datetime:
    """An ISO-8601 timestamp (``Z`` allowed; naive means UTC) as an aware UTC datetime.

    Raises ValueError for anything else, including a moment that is not representable in
    UTC (year 1 at +14:00 falls before year 1; year 9999 at -14:00 after 9999).
    """
    try:
        return as_utc(datetime.fromisoformat(text.strip()))
    except OverflowError:
        raise ValueError(f"{text!r} is outside the years 1 to 9999 in UTC") from None
