"""Three senders' bodies -> `AlertEvent`s: one shape for the receiver.

- Events API v2 (`parse_events_v2`): validated as PagerDuty does, with its
  error messages; a trigger without a dedup_key gets a fresh one (returned
  to the sender, as PagerDuty returns it).
- Alertmanager webhook v4 (`parse_alertmanager`): one event per notification
  (Alertmanager already grouped the alerts: the group is the problem), keyed
  by `groupKey`; `status: resolved` is a resolve; the count is the number of
  firing alerts in the group.
- Generic JSON (`parse_generic`): our field -> a dotted path in the body,
  from settings, e.g. `{"summary": "title", "severity": "tags.severity",
  "dedup_key": "alert_id", "action": "state", "service": "tags.service"}`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.triage.alert import AlertFields

Action = Literal["trigger", "acknowledge", "resolve"]
ACTIONS: tuple[Action, ...] = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
MAX_SUMMARY = 1024
RESOLVED_WORDS = {"resolved", "resolve", "ok", "recovered", "recovery", "closed", "normal"}
ACK_WORDS = {"acknowledged", "acknowledge", "ack", "acked"}


class InvalidEvent(ValueError):
    """The body is not a valid event; `errors` are shown to the sender."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class AlertEvent:
    sender: str
    """events_v2, alertmanager or generic."""
    action: Action
    key: str
    """dedup_key (Events API, generic) or groupKey (Alertmanager)."""
    fields: AlertFields
    count: int = 1
    """How many alerts this event carries (a group's firing alerts)."""
    routing_service: str | None = None
    """The service the routing key maps to in settings (a catalog id or name)."""
    links: list[dict[str, Any]] = field(default_factory=list)


def _str_dict(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if v is not None}


def parse_events_v2(body: Any) -> AlertEvent:
    """A PagerDuty Events API v2 event; raises InvalidEvent like PagerDuty's 400."""
    if not isinstance(body, dict):
        raise InvalidEvent(["Event object is invalid"])
    errors: list[str] = []
    action = body.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is missing or invalid")
    if not isinstance(body.get("routing_key"), str) or not body["routing_key"]:
        errors.append("'routing_key' is missing or blank")
    dedup_key = body.get("dedup_key")
    if dedup_key is not None and not isinstance(dedup_key, str):
        errors.append("'dedup_key' must be a string")
    payload = body.get("payload")
    if action == "trigger":
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or blank")
            payload = {}
        summary = payload.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors.append("'payload.summary' is missing or blank")
        elif len(summary) > MAX_SUMMARY:
            errors.append(f"'payload.summary' is longer than {MAX_SUMMARY} characters")
        if not isinstance(payload.get("source"), str) or not payload["source"].strip():
            errors.append("'payload.source' is missing or blank")
        if payload.get("severity") not in SEVERITIES:
            errors.append(
                "'payload.severity' is invalid (expected critical, error, warning or info)"
            )
        details = payload.get("custom_details")
        if details is not None and not isinstance(details, dict):
            payload = {**payload, "custom_details": {"details": details}}
    elif action in ("acknowledge", "resolve") and not dedup_key:
        errors.append("'dedup_key' is required for acknowledge and resolve")
    if errors:
        raise InvalidEvent(errors)
    payload = payload if isinstance(payload, dict) else {}
    fields = AlertFields(
        summary=str(payload.get("summary") or ""),
        severity=payload.get("severity"),
        source=_opt(payload.get("source")),
        component=_opt(payload.get("component")),
        group=_opt(payload.get("group")),
        class_=_opt(payload.get("class")),
        custom_details=payload.get("custom_details") or {},
        sender="events_v2",
    )
    links = [x for x in body.get("links") or [] if isinstance(x, dict)]
    verb: Action = action  # type: ignore[assignment]  # checked against ACTIONS above
    return AlertEvent("events_v2", verb, dedup_key or uuid.uuid4().hex, fields, links=links)


def _opt(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def parse_alertmanager(body: Any) -> AlertEvent:
    """An Alertmanager webhook notification (version 4)."""
    if not isinstance(body, dict) or not isinstance(body.get("alerts"), list):
        raise InvalidEvent(["not an Alertmanager webhook payload (no 'alerts' list)"])
    if str(body.get("version", "4")) != "4":
        raise InvalidEvent([f"unsupported Alertmanager payload version {body.get('version')!r}"])
    if not body.get("groupKey"):
        raise InvalidEvent(["'groupKey' is missing"])
    alerts = [a for a in body["alerts"] if isinstance(a, dict)]
    firing = [a for a in alerts if a.get("status") == "firing"]
    resolved = body.get("status") == "resolved" or (alerts and not firing)
    first = (firing or alerts or [{}])[0]
    labels = {**_str_dict(first.get("labels")), **_str_dict(body.get("commonLabels"))}
    annotations = {
        **_str_dict(first.get("annotations")),
        **_str_dict(body.get("commonAnnotations")),
    }
    name = labels.get("alertname", "Alert")
    summary = annotations.get("summary") or annotations.get("description") or name
    if name and name not in summary:
        summary = f"{name}: {summary}"
    details: dict[str, Any] = {}
    if len(firing) > 1:
        details["firing_alerts"] = [
            _str_dict(a.get("labels"))
            | {"summary": _str_dict(a.get("annotations")).get("summary", "")}
            for a in firing[:20]
        ]
    if body.get("externalURL"):
        details["alertmanager"] = str(body["externalURL"])
    fields = AlertFields(
        summary=summary[:MAX_SUMMARY],
        severity=labels.get("severity"),
        labels=labels,
        annotations=annotations,
        custom_details=details,
        sender="alertmanager",
    )
    links = [
        {"href": a["generatorURL"], "text": "source"} for a in firing[:5] if a.get("generatorURL")
    ]
    return AlertEvent(
        "alertmanager",
        "resolve" if resolved else "trigger",
        str(body["groupKey"]),
        fields,
        count=max(len(firing), 1),
        links=links,
    )


def dig(body: Any, path: str) -> Any:
    """`a.b.0.c` in nested dicts and lists; None where the path breaks."""
    value = body
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def parse_generic(body: Any, mapping: dict[str, str]) -> AlertEvent:
    """Any JSON body through `mapping` (our field -> dotted path)."""
    if not isinstance(body, dict):
        raise InvalidEvent(["the body must be a JSON object"])
    if "summary" not in mapping:
        raise InvalidEvent(["INTAKE_GENERIC_MAPPING has no 'summary' path"])

    def get(name: str) -> Any:
        return dig(body, mapping[name]) if name in mapping else None

    summary = get("summary")
    if not isinstance(summary, str) or not summary.strip():
        raise InvalidEvent([f"no summary at {mapping['summary']!r}"])
    state = str(get("action") or "").strip().lower()
    action: Action = (
        "resolve" if state in RESOLVED_WORDS else "acknowledge" if state in ACK_WORDS else "trigger"
    )
    key = get("dedup_key")
    labels = _str_dict(get("labels"))
    if (service := get("service")) is not None:
        labels["service"] = str(service)
    details = get("details")
    fields = AlertFields(
        summary=summary[:MAX_SUMMARY],
        severity=_opt(get("severity")),
        source=_opt(get("source")),
        component=_opt(get("component")),
        group=_opt(get("group")),
        labels=labels,
        custom_details=details
        if isinstance(details, dict)
        else ({"details": details} if details else {}),
        sender="generic",
    )
    if action != "trigger" and not key:
        raise InvalidEvent([f"a {action} needs a dedup key at {mapping.get('dedup_key')!r}"])
    return AlertEvent("generic", action, str(key) if key else uuid.uuid4().hex, fields)


def render_prompt(event: AlertEvent, service_name: str | None = None) -> str:
    """The alert in words, for the run's prompt: the summary first (it becomes
    the title), then the fields a human would read. The structured fields
    travel separately too (`AlertFields`), for triage to weigh."""
    f = event.fields
    lines = [f.summary.strip() + (f" ({f.severity})" if f.severity else "")]
    if service_name:
        lines.append(f"service: {service_name} (from the routing key)")
    tags = {k: v for k, v in f.labels.items() if k not in ("severity",)}
    for name in ("source", "component", "group"):
        if value := getattr(f, name):
            tags[name] = value
    if tags:
        lines.append("labels: " + ", ".join(f"{k}={v}" for k, v in list(tags.items())[:20]))
    for k, v in list(f.annotations.items())[:10]:
        if v and v not in lines[0]:
            lines.append(f"{k}: {v}")
    for k, v in list(f.custom_details.items())[:10]:
        lines.append(f"{k}: {v if isinstance(v, str) else str(v)[:300]}")
    if event.count > 1:
        lines.append(f"({event.count} alerts in this notification)")
    return "\n".join(lines)[:8000]
