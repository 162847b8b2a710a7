"""The post-mortem as JSON (for machines) and Markdown with a Mermaid timeline (for people).

The Markdown is rendered from the JSON report, so the two never disagree.
The Mermaid block is a `gantt` chart (status bars plus milestones) because
GitHub renders it and it places events on a real time axis; every label is
stripped to characters Mermaid's grammar cannot misread.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from agent.pagerduty.models import Incident

from .timeline import Timeline

MERMAID_MILESTONES = 40
"""Beyond this many key events the chart would be unreadable; the table keeps them all."""
KEY_KINDS = ("trigger", "acknowledge", "unacknowledge", "escalate", "reassign", "annotate",
             "responder_request", "resolve")
LABELS = {
    "trigger": "Triggered", "assign": "Assigned", "reassign": "Reassigned",
    "notify": "Notified", "acknowledge": "Acknowledged", "unacknowledge": "Unacknowledged",
    "annotate": "Note", "escalate": "Escalated", "resolve": "Resolved",
    "responder_request": "Responder request", "snooze": "Snoozed",
}


NONE = "—"
"""Shown where there is nothing to count (never acknowledged, not resolved, nobody paged)."""


def human_duration(seconds: int | None) -> str:
    """`390` -> `6 min 30 s`; `None` -> `—` (never acknowledged, unresolved)."""
    if seconds is None:
        return NONE
    if seconds == 0:
        return "0 s"
    sign = "-" if seconds < 0 else ""
    rest = abs(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        value, rest = divmod(rest, size)
        if value:
            parts.append(f"{value} {unit}")
    return sign + " ".join(parts)


def incident_summary(incident: Incident) -> dict[str, Any]:
    extra = incident.model_extra or {}
    return {
        "id": incident.id,
        "number": incident.incident_number,
        "title": incident.title,
        "status": incident.status,
        "urgency": incident.urgency,
        "service": {"id": incident.service.id, "name": incident.service.summary},
        "escalation_policy": {"id": incident.escalation_policy.id,
                              "name": incident.escalation_policy.summary}
        if incident.escalation_policy else None,
        "created_at": _iso(incident.created_at),
        "resolved_at": _iso(incident.resolved_at) if incident.resolved_at else None,
        "html_url": incident.html_url,
        "service_url": (incident.service.model_extra or {}).get("html_url"),
        "teams": [t.get("summary") or t.get("id") for t in extra.get("teams") or []],
    }


def build_report(incident: Incident, metrics: dict[str, Any], timeline: list[dict[str, Any]],
                 anomalies: list[dict[str, Any]], narrative: str = "",
                 narrative_source: str = "template",
                 narrative_fallback_reason: str | None = None) -> dict[str, Any]:
    """The JSON post-mortem: `incident`, `metrics`, `timeline`, `anomalies`, `narrative`."""
    return {
        "incident": incident_summary(incident),
        "metrics": metrics,
        "timeline": timeline,
        "anomalies": anomalies,
        "narrative": narrative,
        "narrative_source": narrative_source,
        "narrative_fallback_reason": narrative_fallback_reason,
    }


def report_of(incident: Incident, timeline: Timeline, metrics: dict[str, Any]) -> dict[str, Any]:
    """The report of a computed timeline, narrative still empty."""
    return build_report(incident, metrics, [e.to_dict() for e in timeline.events],
                        [a.to_dict() for a in timeline.anomalies])


def to_markdown(report: dict[str, Any]) -> str:
    inc, metrics = report["incident"], report["metrics"]
    number = f"#{inc['number']} " if inc.get("number") else ""
    lines = [f"# Post-mortem: {number}{_cell(inc['title'])}", ""]
    link = f"[{number}{inc['id']}]({inc['html_url']})" if inc.get("html_url") else inc["id"]
    service = inc["service"]
    service_text = f"{service.get('name') or service['id']} ({service['id']})"
    if inc.get("service_url"):
        service_text = f"[{service_text}]({inc['service_url']})"
    lines += [
        "| | |", "| --- | --- |",
        f"| Incident | {link} |",
        f"| Service | {_cell(service_text)} |",
        f"| Urgency | {inc.get('urgency') or 'n/a'} |",
        f"| Status | {inc['status']} |",
        f"| Triggered | {_clock(metrics.get('triggered_at'))} |",
        f"| Resolved | {_clock(metrics.get('resolved_at'))} |",
    ]
    if inc.get("escalation_policy"):
        policy = inc["escalation_policy"]
        lines.append(f"| Escalation policy | {_cell(policy.get('name') or policy['id'])} |")
    people = _user_names(report["timeline"])
    first = _first_assignment(report["timeline"])
    lines += ["", "## Metrics", "", "| Metric | Value | Seconds |", "| --- | --- | --- |"]
    for key, label in (("time_to_acknowledge_s", "Time to acknowledge"),
                       ("time_to_resolve_s", "Time to resolve")):
        value = metrics.get(key)
        lines.append(f"| {label} | {human_duration(value)} | "
                     f"{value if value is not None else NONE} |")
    for status, seconds in (metrics.get("time_in_status_s") or {}).items():
        lines.append(f"| Time {status} | {human_duration(seconds)} | {seconds} |")
    by_channel = ", ".join(f"{k} {v}" for k, v in metrics.get("notifications_by_channel", {}).items())
    lines += [
        f"| First acknowledged by | {_who(metrics.get('first_acknowledged_by'), people)} | |",
        f"| Acknowledgements | {metrics.get('acknowledgements', 0)} | |",
        f"| Escalations | {metrics['escalations']} | |",
        f"| Notifications | {metrics['notifications']}"
        f"{f' ({by_channel})' if by_channel else ''} | |",
        f"| Reassignments | {metrics.get('reassignments', 0)} | |",
        f"| Re-triggers | {metrics.get('retriggers', 0)} | |",
        f"| Notes | {metrics.get('notes', 0)} | |",
        f"| Log entries | {metrics['log_entries']} | |",
        f"| Paged | {_people(metrics.get('paged_users'), people)} | |",
        f"| Responders | {_people(metrics.get('responders'), people)} | |",
        "", "## Timeline", "", "```mermaid", mermaid_gantt(report), "```", "",
        "| Time (UTC) | Since trigger | Event | By | Details |",
        "| --- | --- | --- | --- | --- |",
    ]
    # Offsets only: aware times subtract as they are, with no conversion to UTC first.
    start = datetime.fromisoformat(metrics["triggered_at"]) if metrics.get("triggered_at") else None
    for event in report["timeline"]:
        offset = (human_duration(int((datetime.fromisoformat(event["at"]) - start).total_seconds()))
                  if start else "")
        details = event.get("text") or ""
        if event.get("users"):
            names = ", ".join(event.get("user_names") or event["users"])
            details = f"{names}{' via ' + event['channel'] if event['kind'] == 'notify' else ''}" \
                      + (f": {details}" if details else "")
        kind = "assign" if event["id"] == first else event["kind"]
        lines.append(f"| {_clock(event['at'])} | {offset} | {LABELS.get(kind, event['type'])} "
                     f"| {_cell(event.get('actor_name') or '')} | {_cell(details)} |")
    lines += ["", "## Anomalies", ""]
    if report["anomalies"]:
        lines += [f"- **{a['code']}**: {_cell(a['message'])}" for a in report["anomalies"]]
        lines.append("")
        lines.append("_Entries above were set aside: the metrics do not use them._")
    else:
        lines.append("None: the log entries are consistent.")
    lines += ["", "## Narrative", "", report["narrative"], ""]
    if report.get("narrative_fallback_reason"):
        lines += [f"_The LLM narrative was discarded: {report['narrative_fallback_reason']}._", ""]
    return "\n".join(lines)


def mermaid_gantt(report: dict[str, Any]) -> str:
    """A gantt chart: one status bar per interval, a milestone per key event."""
    inc, metrics = report["incident"], report["metrics"]
    title = _label(f"Incident {inc.get('number') or inc['id']} {inc['title']}")
    out = ["gantt", f"    title {title}",
           "    dateFormat YYYY-MM-DD HH:mm:ss", "    axisFormat %H:%M", "    section Status"]
    bars: list[tuple[str, str, str]] = []
    status: str | None = None
    since: str | None = metrics.get("triggered_at")
    transitions = {"trigger": "triggered", "acknowledge": "acknowledged",
                   "unacknowledge": "triggered", "resolve": "resolved"}
    for event in report["timeline"]:
        new = transitions.get(event["kind"])
        if new and new != status:
            if status in ("triggered", "acknowledged") and since:
                bars.append((status, since, event["at"]))
            status, since = new, event["at"]
    for i, (name, start, end) in enumerate(bars[:MERMAID_MILESTONES]):
        tag = "crit, " if name == "triggered" else "active, "
        out.append(f"    {name.capitalize()} :{tag}s{i}, {_stamp(start)}, {_stamp(end)}")
    first = _first_assignment(report["timeline"])
    key = [e for e in report["timeline"] if e["kind"] in KEY_KINDS and e["id"] != first]
    out.append("    section Events")
    for i, event in enumerate(key[:MERMAID_MILESTONES]):
        text = LABELS.get(event["kind"], event["kind"])
        if event.get("actor_name"):
            text += f" by {event['actor_name']}"
        elif event.get("user_names"):
            text += f" to {', '.join(event['user_names'])}"
        if event["kind"] == "annotate" and event.get("text"):
            text += f" - {event['text']}"
        out.append(f"    {_label(text)} :milestone, m{i}, {_stamp(event['at'])}, 0s")
    if len(key) > MERMAID_MILESTONES:
        last = key[-1]
        out.append(f"    {len(key) - MERMAID_MILESTONES} more events in the table "
                   f":milestone, more, {_stamp(last['at'])}, 0s")
    return "\n".join(out)


def _label(text: str, limit: int = 60) -> str:
    """Keep only what Mermaid cannot misread: no colon, semicolon, #, quotes, newlines."""
    text = re.sub(r"[^\w .,()/+-]", " ", text, flags=re.UNICODE)
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return text or "event"


def _cell(text: str) -> str:
    text = str(text)
    if "|" not in text and "\n" not in text and "\r" not in text:
        return text  # most cells: nothing to escape, no copies
    return text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


_UTC_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC) if value else None


def _stamp(value: str) -> str:
    at = _parse(value)
    assert at is not None
    return at.strftime("%Y-%m-%d %H:%M:%S")


def _clock(value: str | None) -> str:
    if value and _UTC_STAMP.fullmatch(value):  # the report's own form: cut, don't parse
        return f"{value[:10]} {value[11:19]} UTC"
    at = _parse(value)
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else NONE


def _first_assignment(timeline: list[dict[str, Any]]) -> str | None:
    """The id of the incident's first assignment: shown as "Assigned", never "Reassigned",
    even when a person made it (the metrics do not count it as a reassignment either)."""
    return next((e["id"] for e in timeline if e["kind"] in ("assign", "reassign")), None)


def _user_names(timeline: list[dict[str, Any]]) -> dict[str, str]:
    """User id -> name, from the names the log entries carry."""
    names: dict[str, str] = {}
    for event in timeline:
        if event.get("actor_id") and event.get("actor_name"):
            names.setdefault(event["actor_id"], event["actor_name"])
        names.update((u, n) for u, n in zip(event.get("users") or [], event.get("user_names") or [],
                                            strict=False) if u not in names)
    return names


def _who(user_id: str | None, names: dict[str, str]) -> str:
    if not user_id:
        return NONE
    name = names.get(user_id)
    return _cell(f"{name} ({user_id})" if name and name != user_id else user_id)


def _people(user_ids: list[str] | None, names: dict[str, str]) -> str:
    return ", ".join(_who(u, names) for u in user_ids or []) or NONE
