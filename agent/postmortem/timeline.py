"""Log entries -> one strict chronological timeline of typed events.

PagerDuty returns log entries newest first, in pages and windows that can
overlap, so the raw list may hold duplicates and arbitrary order. The
timeline is sorted by `(created_at, id)` and de-duplicated by id. What looks
wrong is *flagged* as an anomaly and kept out of the metrics, never silently
used: entries out of order in the input (relative to `(created_at, id)`,
in either direction -- PagerDuty's newest-first order counts as ordered),
entries of another incident, a resolve before the trigger, an acknowledge
while the incident is resolved, and so on (see `metrics.py` for the status
walk that finds the contradictory ones).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from agent.pagerduty.models import LogChannel, LogEntry, adapter_for

# Log entry type -> event kind. Endpoint quirks as data, not branches.
KINDS: dict[str, str] = {
    "trigger_log_entry": "trigger",
    "first_trigger_log_entry": "trigger",
    "assign_log_entry": "assign",
    "notify_log_entry": "notify",
    "acknowledge_log_entry": "acknowledge",
    "acknowledgement_log_entry": "acknowledge",
    "unacknowledge_log_entry": "unacknowledge",
    "annotate_log_entry": "annotate",
    "escalate_log_entry": "escalate",
    "reassign_log_entry": "reassign",
    "delegate_log_entry": "reassign",
    "resolve_log_entry": "resolve",
    "snooze_log_entry": "snooze",
    "urgency_change_log_entry": "urgency_change",
    "responder_request_log_entry": "responder_request",
    "responder_accept_log_entry": "responder_accept",
    "responder_decline_log_entry": "responder_decline",
    "exhaust_escalation_path_log_entry": "exhaust_escalation_path",
    "repeat_escalation_path_log_entry": "repeat_escalation_path",
}


@dataclass(frozen=True)
class Event:
    """One log entry, typed: what happened, when, by whom, to whom."""

    id: str
    at: datetime
    kind: str
    """trigger, assign, reassign, notify, acknowledge, unacknowledge, annotate,
    escalate, resolve, responder_request, ... or `other` (raw type in `type`)."""
    type: str
    actor_id: str | None = None
    actor_name: str | None = None
    actor_type: str | None = None
    users: tuple[str, ...] = ()
    """Who it concerns: the notified user, the assignees, requested responders."""
    user_names: tuple[str, ...] = ()
    channel: str | None = None
    """The channel type: sms, email, phone, push_notification for a notify; api, web ... otherwise."""
    text: str | None = None
    """Note text for annotations, the summary of a trigger, an escalation's reason."""
    escalation_level: int | None = None

    def to_dict(self) -> dict[str, Any]:
        # Field by field: `dataclasses.asdict` deep-copies every value, which for a
        # timeline of thousands of events cost more than building the timeline.
        return {
            "id": self.id,
            "at": _iso(self.at),
            "kind": self.kind,
            "type": self.type,
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "actor_type": self.actor_type,
            "users": list(self.users),
            "user_names": list(self.user_names),
            "channel": self.channel,
            "text": self.text,
            "escalation_level": self.escalation_level,
        }


@dataclass(frozen=True)
class Anomaly:
    """Something in the log that contradicts itself; reported, never used for metrics."""

    code: str
    """out_of_order, duplicate_conflict, other_incident, no_trigger, resolve_before_trigger,
    acknowledge_before_trigger, acknowledge_after_resolve, status_mismatch, ..."""
    message: str
    entry_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Timeline:
    """The incident's events in strict `(at, id)` order plus what was set aside."""

    incident_id: str
    events: list[Event] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    entries_seen: int = 0
    """Raw entries given, before de-duplication and the other-incident filter."""


def _kind(entry: LogEntry) -> str:
    kind = KINDS.get(entry.type)
    if kind is None and "responder" in entry.type:
        return "responder_request"
    if kind == "assign" and entry.agent is not None and entry.agent.type.startswith("user"):
        # A person moved the incident (PagerDuty logs it as an assign with a user agent);
        # the escalation policy's own assignments have a service/policy agent or none.
        return "reassign"
    return kind or "other"


def _refs(items: Iterable[Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    ids: list[str] = []
    names: list[str] = []
    for item in items:
        ref = item.get("user", item) if isinstance(item, dict) else item
        ref_id = ref.get("id") if isinstance(ref, dict) else getattr(ref, "id", None)
        if ref_id:
            ids.append(ref_id)
            summary = ref.get("summary") if isinstance(ref, dict) else getattr(ref, "summary", None)
            names.append(summary or ref_id)
    return tuple(ids), tuple(names)


_NO_CHANNEL = LogChannel()


def to_event(entry: LogEntry) -> Event:
    """Type one log entry; the raw PagerDuty fields that matter, nothing invented."""
    kind = _kind(entry)
    channel = entry.channel or _NO_CHANNEL
    users: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    if entry.user is not None:
        users, names = (entry.user.id,), (entry.user.summary or entry.user.id,)
    elif entry.assignees:
        users, names = _refs(entry.assignees)
    elif entry.responders or entry.responder_request_targets:
        users, names = _refs(entry.responders or entry.responder_request_targets or [])
    text: str | None = None
    if kind == "annotate":
        text = channel.summary or entry.note or channel.content
        if text is None and isinstance(entry.note, dict):
            text = entry.note.get("content")
    elif kind != "notify":
        text = channel.summary or entry.note or None
    level = entry.escalation_level
    return Event(
        id=entry.id,
        at=entry.created_at,
        kind=kind,
        type=entry.type,
        actor_id=entry.agent.id if entry.agent else None,
        actor_name=(entry.agent.summary or entry.agent.id) if entry.agent else None,
        actor_type=entry.agent.type if entry.agent else None,
        users=users,
        user_names=names,
        channel=channel.type,
        text=text if isinstance(text, str) else None,
        escalation_level=level if isinstance(level, int) else None,
    )


def build_timeline(incident_id: str, entries: Iterable[LogEntry | dict[str, Any]]) -> Timeline:
    """Sort, de-duplicate and type the entries of one incident; flag the rest."""
    validate = adapter_for(LogEntry).validate_python
    parsed = [e if isinstance(e, LogEntry) else validate(e) for e in entries]
    timeline = Timeline(incident_id=incident_id, entries_seen=len(parsed))
    flag = timeline.anomalies.append

    for entry in _out_of_order(parsed):
        flag(Anomaly("out_of_order", f"{entry.id} ({_iso(entry.created_at)}) is listed out of "
                     "chronological order in the input", entry.id))

    by_id: dict[str, LogEntry] = {}
    for entry in parsed:
        if entry.incident is not None and entry.incident.id != incident_id:
            flag(Anomaly("other_incident", f"{entry.id} belongs to incident "
                         f"{entry.incident.id}, not {incident_id}", entry.id))
            continue
        seen = by_id.get(entry.id)
        if seen is None:
            by_id[entry.id] = entry
        elif (seen.created_at, seen.type) != (entry.created_at, entry.type):
            flag(Anomaly("duplicate_conflict", f"{entry.id} appears twice with different "
                         "content; the first copy is kept", entry.id))

    ordered = sorted(by_id.values(), key=lambda e: (e.created_at, e.id))
    timeline.events = [to_event(e) for e in ordered]
    return timeline


def _out_of_order(entries: list[LogEntry]) -> list[LogEntry]:
    """Entries that break the input's own direction (ascending, or PagerDuty's newest first)."""
    keys = [(e.created_at, e.id) for e in entries]
    ascending = sum(map(operator.lt, keys, keys[1:])) >= sum(map(operator.gt, keys, keys[1:]))
    order = range(len(keys)) if ascending else range(len(keys) - 1, -1, -1)
    misplaced: list[LogEntry] = []
    latest = None
    for i in order:
        if latest is not None and keys[i] < latest:
            misplaced.append(entries[i])
        else:
            latest = keys[i]
    return misplaced


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
