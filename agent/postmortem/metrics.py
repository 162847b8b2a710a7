"""The post-mortem's numbers, computed in code from the timeline: exact integers.

Definitions (every duration is whole seconds, end minus start, from the log
entries' own `created_at`; "valid" means not set aside as an anomaly):

- **trigger time**: the first trigger log entry of the incident. With no
  trigger entry at all, `incident.created_at` stands in and a `no_trigger`
  anomaly says so. A later trigger (the incident re-opened after a resolve)
  does not move it: the incident's clock starts once.
- **status walk**: from the trigger the incident is `triggered`; a valid
  acknowledge makes it `acknowledged`, an unacknowledge makes it `triggered`
  again, a resolve makes it `resolved`, a trigger after a resolve re-opens
  it (`triggered`, counted in `retriggers`). An acknowledge or resolve before
  the trigger time, an acknowledge while resolved, and a second resolve
  while resolved are contradictory: flagged, not used.
- `time_to_acknowledge_s`: trigger time -> the first valid acknowledge log
  entry. Never acknowledged: `null` (not 0).
- `time_to_resolve_s`: trigger time -> the last valid resolve log entry,
  provided the walk ends `resolved`. Not resolved (never, or re-opened and
  still open): `null`.
- `first_acknowledged_by`: the agent (user id) of that first valid acknowledge.
- `escalations`: escalate log entries (automatic and manual).
- `notifications`: notify log entries; `notifications_by_channel`: the same
  counted by `channel.type` (sms, email, phone, push_notification, ...).
- `log_entries`: entries of this incident after de-duplication by id
  (entries of other incidents excluded).
- `paged_users`: distinct users notified, in order of their first notification.
- `responders`: distinct users who acted as a person (acknowledge,
  annotate, resolve, reassign, escalate, unacknowledge, responder request or
  accept with a user agent), in order of first action.
- `responder_requests`: responder request log entries.
- `notes`: annotate entries (count); `notes_list`: `{at, by, text}` each.
- `reassignments`: reassign events: assigns made by a person and delegations. The
  incident's first assignment is not one, even when a person made it (an incident
  opened with an explicit assignee): nobody was assigned before it.
- `acknowledgements`: valid acknowledges (re-acks after an unacknowledge count).
- `time_in_status_s`: seconds spent `triggered` and `acknowledged`, summed over
  the closed intervals of the walk (up to the final resolve). An unresolved
  incident's current interval is open and not counted.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from agent.pagerduty.models import Incident

from .timeline import Anomaly, Event, Timeline

HUMAN_ACTIONS = frozenset({
    "acknowledge", "annotate", "resolve", "reassign", "escalate", "unacknowledge",
    "responder_request", "responder_accept",
})


def _seconds(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds())


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


def _ordered_unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def compute_metrics(timeline: Timeline, incident: Incident | None = None) -> dict[str, Any]:
    """The metrics of one incident; appends contradictions to `timeline.anomalies`."""
    events = timeline.events
    flag = timeline.anomalies.append
    triggers = [e for e in events if e.kind == "trigger"]
    trigger_at: datetime | None
    if triggers:
        trigger_at = triggers[0].at
    elif incident is not None:
        trigger_at = incident.created_at
        flag(Anomaly("no_trigger", "no trigger log entry; incident.created_at "
                     f"({_iso(trigger_at)}) is used as the trigger time"))
    else:
        trigger_at = events[0].at if events else None
        flag(Anomaly("no_trigger", "no trigger log entry and no incident; the first entry's "
                     "time is used as the trigger time"))

    status = "triggered"
    since = trigger_at
    in_status: Counter[str] = Counter({"triggered": 0, "acknowledged": 0})
    acks: list[Event] = []
    last_resolve: Event | None = None
    retriggers = 0

    def move(to: str, at: datetime) -> None:
        nonlocal status, since
        if status in in_status and since is not None:
            in_status[status] += _seconds(since, at)
        status, since = to, at

    for event in events:
        before = trigger_at is not None and event.at < trigger_at
        if event.kind == "trigger":
            if event is triggers[0]:
                continue
            if status == "resolved":
                retriggers += 1
                move("triggered", event.at)
        elif event.kind == "acknowledge":
            if before:
                flag(Anomaly("acknowledge_before_trigger",
                             f"{event.id} acknowledges before the trigger", event.id))
            elif status == "resolved":
                flag(Anomaly("acknowledge_after_resolve",
                             f"{event.id} acknowledges an incident already resolved", event.id))
            else:
                acks.append(event)
                move("acknowledged", event.at)
        elif event.kind == "unacknowledge" and status == "acknowledged" and not before:
            move("triggered", event.at)
        elif event.kind == "resolve":
            if before:
                flag(Anomaly("resolve_before_trigger",
                             f"{event.id} resolves before the trigger", event.id))
            elif status == "resolved":
                flag(Anomaly("resolve_after_resolve",
                             f"{event.id} resolves an incident already resolved", event.id))
            else:
                last_resolve = event
                move("resolved", event.at)

    resolved = status == "resolved" and last_resolve is not None
    if incident is not None and (incident.status == "resolved") != resolved:
        flag(Anomaly("status_mismatch", f"incident status is {incident.status!r} but the "
                     f"log entries end {status!r}"))

    kinds = Counter(e.kind for e in events)  # one pass for every count below
    count = kinds.__getitem__

    notifies = [e for e in events if e.kind == "notify"]
    first_assignment = next((e for e in events if e.kind in ("assign", "reassign")), None)
    notes = [e for e in events if e.kind == "annotate"]
    first_ack = acks[0] if acks else None
    return {
        "time_to_acknowledge_s": _seconds(trigger_at, first_ack.at)
        if first_ack and trigger_at else None,
        "time_to_resolve_s": _seconds(trigger_at, last_resolve.at)
        if resolved and last_resolve and trigger_at else None,
        "escalations": count("escalate"),
        "notifications": len(notifies),
        "notifications_by_channel": dict(sorted(
            Counter(e.channel or "unknown" for e in notifies).items())),
        "log_entries": len(events),
        "first_acknowledged_by": first_ack.actor_id if first_ack else None,
        "paged_users": _ordered_unique([u for e in notifies for u in e.users]),
        "responders": _ordered_unique([
            e.actor_id for e in events
            if e.kind in HUMAN_ACTIONS and e.actor_id and (e.actor_type or "").startswith("user")
        ]),
        "responder_requests": count("responder_request"),
        "acknowledgements": len(acks),
        "reassignments": count("reassign") - (first_assignment is not None
                                               and first_assignment.kind == "reassign"),
        "retriggers": retriggers,
        "notes": len(notes),
        "notes_list": [{"at": _iso(e.at), "by": e.actor_id, "text": e.text} for e in notes],
        "time_in_status_s": dict(in_status),
        "triggered_at": _iso(trigger_at),
        "acknowledged_at": _iso(first_ack.at) if first_ack else None,
        "resolved_at": _iso(last_resolve.at) if resolved and last_resolve else None,
    }
