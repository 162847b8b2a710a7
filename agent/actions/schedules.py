"""Roster writes: a schedule override puts one user on call for [start, end)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field

from agent.actions.base import Action, ActionError, ApiCall, Fields, ref, register
from agent.pagerduty.catalog import Catalog
from agent.roster import MAX_DURATION, Window


class CreateOverride(Fields):
    schedule_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    """Who covers."""
    start: str
    """ISO 8601 with an offset, e.g. 2026-11-20T13:00:00+01:00."""
    end: str
    time_zone: str = "UTC"
    """The requester's zone: how the window is shown and sent."""
    replaces_user_id: str | None = None
    """Who was on call and hands over; shown to the approver, not sent."""


def window_of(f: CreateOverride) -> Window:
    """The override's window, checked: aware instants, end after start, bounded."""
    try:
        zone = ZoneInfo(f.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ActionError(f"unknown time zone {f.time_zone!r}") from None
    ends = []
    for name, text in (("start", f.start), ("end", f.end)):
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ActionError(f"{name} {text!r} is not an ISO 8601 date and time") from None
        if when.tzinfo is None:
            raise ActionError(f"{name} {text!r} has no UTC offset")
        ends.append(when.astimezone(zone))
    start, end = ends
    if end <= start:
        raise ActionError("the override would end before it starts")
    if end.astimezone(UTC) - start.astimezone(UTC) > MAX_DURATION:
        raise ActionError(f"an override may last at most {MAX_DURATION.days} days")
    return Window(start, end, zone.key)


def _build(f: CreateOverride, catalog: Catalog) -> ApiCall:
    if catalog.schedule(f.schedule_id) is None:
        raise ActionError(f"schedule {f.schedule_id!r} does not exist in this account")
    if catalog.user(f.user_id) is None:
        raise ActionError(f"user {f.user_id!r} does not exist in this account")
    window = window_of(f)
    override = {
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "user": ref("user", f.user_id),
        "time_zone": window.tz,
    }
    return ApiCall(method="POST", path=f"/schedules/{f.schedule_id}/overrides",
                   body={"overrides": [override]})


def _summarize(f: CreateOverride, catalog: Catalog) -> str:
    schedule = catalog.schedule(f.schedule_id)
    user = catalog.user(f.user_id)
    gone = catalog.user(f.replaces_user_id) if f.replaces_user_id else None
    instead = f" instead of {gone.name}" if gone else ""
    return (
        f"Override {schedule.name if schedule else f.schedule_id}: "
        f"{user.name if user else f.user_id} on call{instead}, {window_of(f).describe()}"
    )


register(
    Action(
        name="create_override",
        fields=CreateOverride,
        build=_build,
        summarize=_summarize,
        editable=("user_id", "start", "end"),
    )
)
