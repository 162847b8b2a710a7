"""Small pure helpers for roster and incident-update requests: whose clock the
words are read on, questions with candidates, and who is on call in words."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from agent.config import Settings
from agent.pagerduty.models import Incident, User
from agent.roster import Ambiguous, Resolution, Resolved, Segment, Window

__all__ = ["incident_row", "person_candidates", "question", "requester_zone", "segments_text"]


def requester_zone(settings: Settings, requester: User | None) -> tuple[str, str]:
    """(zone, why). An explicitly configured DEFAULT_TIME_ZONE wins; else the
    requester's (PAGERDUTY_FROM's) PagerDuty time zone; else UTC."""
    if "default_time_zone" in settings.model_fields_set:
        return settings.default_time_zone, "DEFAULT_TIME_ZONE"
    zone = getattr(requester, "time_zone", None) if requester is not None else None
    if zone:
        try:
            ZoneInfo(zone)
            return zone, f"{requester.name}'s PagerDuty time zone"  # type: ignore[union-attr]
        except (ValueError, KeyError):
            pass
    return settings.default_time_zone, "the default time zone"


def question(kind: str, role: str, text: str, candidates: list[dict[str, Any]], back: str) -> dict[str, Any]:
    """What `clarify` asks: choose a `kind` for `role`, then go `back`."""
    return {"kind": kind, "role": role, "text": text, "candidates": candidates, "back": back}


def person_candidates(resolution: Resolution[User], everyone: list[User]) -> list[dict[str, Any]]:
    if isinstance(resolution, Ambiguous):
        users = resolution.candidates
    elif isinstance(resolution, Resolved):
        users = [resolution.value]
    else:
        users = resolution.suggestions or everyone
    return [{"id": u.id, "name": u.name, "email": u.email} for u in users[:50]]


def segments_text(segments: list[Segment], window: Window) -> str:
    """"David Miller (whole window)" or "David Miller until Sat 21 Nov 09:00 UTC, Elena …"."""
    if not segments:
        return "nobody"
    zone = ZoneInfo(window.tz)
    parts = []
    for s in segments:
        whole = s.start <= window.start and s.end >= window.end
        if whole:
            parts.append(f"{s.user.summary} (the whole window)")
        else:
            a, b = s.start.astimezone(zone), s.end.astimezone(zone)
            parts.append(f"{s.user.summary} {a:%a %d %b %H:%M} → {b:%a %d %b %H:%M %Z}")
    return ", ".join(parts)


def incident_row(i: Incident) -> dict[str, Any]:
    return {
        "id": i.id,
        "number": i.incident_number,
        "title": i.title,
        "status": i.status,
        "urgency": i.urgency,
        "priority": i.priority.summary if i.priority else None,
        "service": i.service.summary,
        "service_id": i.service.id,
        "assignees": [a.assignee.summary for a in i.assignments],
        "html_url": i.html_url,
    }
