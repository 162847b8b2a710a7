"""Who is on call, read from /oncalls answers, for a roster proposal to say
"on call before: David (until 09:00), after: Elena" and to check that the
person leaving is really on call in the window being handed over.

Pure functions over `OnCall` models; the graph does the API call. An entry
with no `start`/`end` is open on that side (the API omits them for
permanent escalation-policy on-calls).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from agent.pagerduty.models import OnCall, Reference
from agent.roster.timewords import Window

__all__ = ["Segment", "covers_window", "on_call_segments", "who_is_on_call"]

_MIN = datetime.min.replace(tzinfo=UTC)
_MAX = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Segment:
    """One user on call for a schedule from `start` to `end` (clipped, merged)."""

    user: Reference
    start: datetime
    end: datetime


def _on(oncall: OnCall, schedule_id: str) -> bool:
    return oncall.schedule is not None and oncall.schedule.id == schedule_id


def _span(oncall: OnCall) -> tuple[datetime, datetime]:
    return (oncall.start or _MIN).astimezone(UTC), (oncall.end or _MAX).astimezone(UTC)


def who_is_on_call(
    oncalls: list[OnCall], *, schedule_id: str, at: datetime | None = None
) -> list[Reference]:
    """The users on call for the schedule at `at` (every entry if None: the
    answer was already asked for one instant), lowest escalation level first,
    each user once."""
    hits = [
        o
        for o in oncalls
        if _on(o, schedule_id) and (at is None or _span(o)[0] <= at.astimezone(UTC) < _span(o)[1])
    ]
    hits.sort(key=lambda o: (o.escalation_level, _span(o)[0]))
    seen: dict[str, Reference] = {}
    for o in hits:
        seen.setdefault(o.user.id, o.user)
    return list(seen.values())


def on_call_segments(oncalls: list[OnCall], *, schedule_id: str, window: Window) -> list[Segment]:
    """Who is on call for the schedule during the window, in time order, each
    stretch clipped to the window and touching stretches of one user merged."""
    lo, hi = window.start.astimezone(UTC), window.end.astimezone(UTC)
    pieces = []
    for o in oncalls:
        if not _on(o, schedule_id):
            continue
        s, e = _span(o)
        s, e = max(s, lo), min(e, hi)
        if s < e:
            pieces.append((s, e, o.user))
    pieces.sort(key=lambda p: (p[0], p[1]))
    merged: list[Segment] = []
    for s, e, user in pieces:
        last = next((m for m in reversed(merged) if m.user.id == user.id), None)
        if last is not None and s <= last.end:
            merged[merged.index(last)] = Segment(user, last.start, max(last.end, e))
        else:
            merged.append(Segment(user, s, e))
    return merged


def covers_window(
    oncalls: list[OnCall], user_id: str, schedule_id: str, window: Window
) -> bool | Literal["partial"]:
    """True if the user is on call for the schedule for the whole window,
    "partial" if for part of it, False if not at all.

    "partial" is truthy: compare with `is True` / `== "partial"`.
    """
    lo, hi = window.start.astimezone(UTC), window.end.astimezone(UTC)
    segments = [
        s for s in on_call_segments(oncalls, schedule_id=schedule_id, window=window)
        if s.user.id == user_id
    ]  # fmt: skip
    if not segments:
        return False
    segments.sort(key=lambda s: s.start)
    cursor = lo
    for s in segments:
        if s.start > cursor:
            return "partial"
        cursor = max(cursor, s.end)
    return True if cursor >= hi else "partial"
