"""Endpoint quirks as data: how each list endpoint pages, wraps and limits time.

Read from the published spec (`rest-openapiv3.json`) and PagerDuty's docs.
The paginator consults this table; nothing else in the code branches on a
path. An endpoint missing here pages by offset and wraps its list in the
key named by its last path segment, which is PagerDuty's convention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

__all__ = [
    "ENDPOINTS",
    "MAX_OFFSET_WINDOW",
    "PAGE_LIMIT",
    "Endpoint",
    "endpoint_for",
    "template_of",
]

PAGE_LIMIT = 100  # the largest `limit` offset endpoints accept
MAX_OFFSET_WINDOW = 10_000  # offset + limit may not exceed this (400 past it)

# 6 months is 181 to 184 days depending on the calendar; 180 days is always inside it
# and makes every window the same length, which keeps the split predictable.
SIX_MONTHS = timedelta(days=180)


@dataclass(frozen=True)
class Endpoint:
    """How one list endpoint behaves."""

    wrapper: str
    """The key of the list in the response body."""
    paging: Literal["offset", "cursor", "none"] = "offset"
    max_span: timedelta | None = None
    """The longest `since`..`until` the endpoint accepts; longer asks are split."""
    time_field: str | None = None
    """The field results are ordered by, used to go on past the 10,000 offset cap."""
    newest_first: bool = False
    """Results come newest first (log entries); ties keep this order when sorting by time."""


ENDPOINTS: dict[str, Endpoint] = {
    "/incidents": Endpoint("incidents", max_span=SIX_MONTHS, time_field="created_at"),
    # No span limit is documented for log entries; the same splitter keeps asks modest.
    "/log_entries": Endpoint(
        "log_entries", max_span=SIX_MONTHS, time_field="created_at", newest_first=True
    ),
    "/incidents/{id}/log_entries": Endpoint(
        "log_entries", max_span=SIX_MONTHS, time_field="created_at", newest_first=True
    ),
    "/incidents/{id}/alerts": Endpoint("alerts", time_field="created_at"),
    "/incidents/{id}/notes": Endpoint("notes", paging="none"),
    # "The size of the date range must be less than 3 months."
    "/notifications": Endpoint(
        "notifications", max_span=timedelta(days=89), time_field="started_at"
    ),
    # "On-call shifts are limited to 90 days in the future."
    "/oncalls": Endpoint("oncalls", max_span=timedelta(days=90)),
    "/schedules/{id}/overrides": Endpoint("overrides", paging="none"),
    "/services": Endpoint("services"),
    "/users": Endpoint("users"),
    "/schedules": Endpoint("schedules"),
    "/escalation_policies": Endpoint("escalation_policies"),
    "/priorities": Endpoint("priorities"),
    "/teams": Endpoint("teams"),
    # Cursor endpoints: `cursor` in, `next_cursor` out (null at the end); until ≤ since + 31 days.
    "/audit/records": Endpoint("records", paging="cursor", max_span=timedelta(days=31)),
    "/users/{id}/audit/records": Endpoint("records", paging="cursor", max_span=timedelta(days=31)),
    "/services/{id}/audit/records": Endpoint(
        "records", paging="cursor", max_span=timedelta(days=31)
    ),
    "/schedules/{id}/audit/records": Endpoint(
        "records", paging="cursor", max_span=timedelta(days=31)
    ),
    "/escalation_policies/{id}/audit/records": Endpoint(
        "records", paging="cursor", max_span=timedelta(days=31)
    ),
    "/teams/{id}/audit/records": Endpoint("records", paging="cursor", max_span=timedelta(days=31)),
    "/automation_actions/actions": Endpoint("actions", paging="cursor"),
    "/automation_actions/runners": Endpoint("runners", paging="cursor"),
}

# Collection and action names are lower-case words ("log_entries", "v3", "me");
# anything else in a path is an object id.
_STATIC_SEGMENT = re.compile(r"[a-z][a-z0-9_]*")


def template_of(path: str) -> str:
    """`/incidents/Q1ABC/log_entries` -> `/incidents/{id}/log_entries`."""
    segments = path.split("?", 1)[0].strip("/").split("/")
    return "/" + "/".join(s if _STATIC_SEGMENT.fullmatch(s) else "{id}" for s in segments if s)


def endpoint_for(path: str) -> Endpoint:
    template = template_of(path)
    known = ENDPOINTS.get(template)
    if known is not None:
        return known
    return Endpoint(template.rsplit("/", 1)[-1])
