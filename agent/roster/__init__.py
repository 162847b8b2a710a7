"""Roster changes and incident updates in plain words, resolved against the
account: time windows, people, schedules, escalation policies, incident
references and who is on call. Pure and deterministic; no API calls."""

from agent.roster.incidents import IncidentRef, parse_incident_ref
from agent.roster.oncall_check import Segment, covers_window, on_call_segments, who_is_on_call
from agent.roster.people import resolve_person
from agent.roster.resolution import Ambiguous, Resolution, Resolved, Unknown
from agent.roster.schedules import resolve_escalation_policy, resolve_schedule, schedule_members
from agent.roster.timewords import (
    MAX_AHEAD,
    MAX_DURATION,
    TimeWindowError,
    Window,
    parse_window,
)

__all__ = [
    "Ambiguous",
    "IncidentRef",
    "MAX_AHEAD",
    "MAX_DURATION",
    "Resolution",
    "Resolved",
    "Segment",
    "TimeWindowError",
    "Unknown",
    "Window",
    "covers_window",
    "on_call_segments",
    "parse_incident_ref",
    "parse_window",
    "resolve_escalation_policy",
    "resolve_person",
    "resolve_schedule",
    "schedule_members",
    "who_is_on_call",
]
