"""Timestamps in and out of the API: ISO 8601 strings, always aware UTC inside.

Accepted instants lie in [1970-01-01, 9000-01-01) UTC: PagerDuty's data starts
with Unix time, and the bound leaves every window the sandbox computes (six
months of incidents, 90 days of on-calls, a year of schedule) far from the
ends of `datetime`, so no input can overflow it into a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import invalid

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str, name: str) -> datetime:
    """Parse a query or body timestamp; a bad or out-of-range one is PagerDuty's 400, naming the field."""
    try:
        dt = datetime.fromisoformat(value.strip().replace(" ", "+"))
        dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except (ValueError, AttributeError, OverflowError):
        raise invalid(f"{name} is not a valid ISO 8601 date-time: {str(value)[:64]!r}") from None
    if not EARLIEST <= dt < LATEST:
        raise invalid(f"{name} must be between {EARLIEST.year} and {LATEST.year - 1}, got {str(value)[:64]!r}")
    return dt


def to_dt(value: str | datetime) -> datetime:
    """Stored timestamps (already validated) to aware datetimes."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    dt = datetime.fromisoformat(value)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
