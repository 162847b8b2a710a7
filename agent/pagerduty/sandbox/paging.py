"""PagerDuty's classic (offset) pagination rules, in one place."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import invalid

DEFAULT_LIMIT = 25
MAX_LIMIT = 100  # larger asks are answered with 100, as PagerDuty does
MAX_OFFSET_PLUS_LIMIT = 10_000


def _int(value: str | int | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(f"{name} must be an integer, got {value!r}") from None


def _bool(value: str | bool | None) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("true", "1", "yes")


def paginate(
    items: Sequence[Any], *, limit: str | int | None, offset: str | int | None, total: str | bool | None
) -> dict[str, Any]:
    """Slice `items` and return the pagination fields (`limit`, `offset`, `more`, `total`)."""
    lim = _int(limit, "limit", DEFAULT_LIMIT)
    off = _int(offset, "offset", 0)
    if lim < 0 or off < 0:
        raise invalid("offset and limit must not be negative")
    lim = min(lim, MAX_LIMIT) or DEFAULT_LIMIT
    if off + lim > MAX_OFFSET_PLUS_LIMIT:
        raise invalid(
            f"Offset + limit must not exceed {MAX_OFFSET_PLUS_LIMIT}; "
            "narrow the query (for example by since/until) to read further"
        )
    page = items[off : off + lim]
    return {
        "items": page,
        "limit": lim,
        "offset": off,
        "more": off + lim < len(items),
        "total": len(items) if _bool(total) else None,
    }
