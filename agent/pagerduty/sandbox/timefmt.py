"""Timestamps in and out of the API: ISO 8601 strings, always aware UTC inside."""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import invalid


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str, name: str) -> datetime:
    """Parse a query or body timestamp; a bad one is PagerDuty's 400, naming the field."""
    try:
        dt = datetime.fromisoformat(value.strip().replace(" ", "+"))
    except (ValueError, AttributeError):
        raise invalid(f"{name} is not a valid ISO 8601 date-time: {value!r}") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def to_dt(value: str | datetime) -> datetime:
    """Stored timestamps (already validated) to aware datetimes."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    dt = datetime.fromisoformat(value)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
