"""A page: who is on call, whether the problem already has an open incident, and the write.

A second alert for a problem that already has an open incident (same
incident key, or a title about the same thing) becomes a note on it, not a
second page.
"""

from __future__ import annotations

import re
from typing import Any

from agent.actions import ActionError, Proposal, build_proposal
from agent.pagerduty.catalog import Catalog
from agent.pagerduty.models import Incident, OnCall
from agent.respond.state import OnCallRow, OpenIncident, Refusal, Service
from agent.triage import TriageResult

_NOISE = re.compile(r"\d+([.,]\d+)?[a-z%]*")
_WORD = re.compile(r"[a-z][a-z0-9_-]+")
_STOP = {"the", "a", "an", "on", "in", "for", "of", "to", "is", "are", "and", "with", "from",
         "at", "by", "critical", "warning", "sev1", "sev2", "sev3", "sev4", "p1", "p2", "p3",
         "firing", "alert", "high", "low", "severity"}


def incident_key(thread_id: str) -> str:
    """Derived from the thread, so a retried or resumed create lands on one incident."""
    return f"incident-agent/{thread_id}"


def oncall_rows(oncalls: list[OnCall]) -> list[OnCallRow]:
    rows = [
        OnCallRow(
            policy=o.escalation_policy.summary if o.escalation_policy else None,
            level=o.escalation_level,
            user_id=o.user.id,
            user=o.user.summary,
            schedule=o.schedule.summary if o.schedule else None,
            schedule_id=o.schedule.id if o.schedule else None,
            until=o.end.isoformat() if o.end else None,
        )
        for o in oncalls
    ]
    return sorted(rows, key=lambda r: (r.policy or "", r.level, r.user_id))


def open_rows(incidents: list[Incident]) -> list[OpenIncident]:
    return [
        OpenIncident(id=i.id, number=i.incident_number, title=i.title, status=i.status,
                     urgency=i.urgency, service=i.service.summary, incident_key=i.incident_key,
                     html_url=i.html_url)
        for i in incidents
    ]


def _words(title: str) -> set[str]:
    text = _NOISE.sub(" ", title.lower())
    return {w for w in _WORD.findall(text) if w not in _STOP}


def same_problem(a: str, b: str) -> bool:
    """Two titles describe one problem: most meaningful words shared, numbers ignored.

    Alerts for one problem repeat with other figures ("p99 3.1s" then "p99 3.4s");
    a Jaccard index over the remaining words tells them from other problems.
    """
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return False
    return len(wa & wb) / len(wa | wb) >= 0.6


def duplicate(rows: list[OpenIncident], key: str, title: str) -> OpenIncident | None:
    """The open incident this page would repeat: ours (same key) first, then one about the same thing."""
    return next((r for r in rows if r.incident_key == key), None) or next(
        (r for r in rows if same_problem(title, r.title)), None
    )


def propose_page(
    request: TriageResult,
    service: Service,
    oncall: list[OnCallRow],
    duplicate_of: OpenIncident | None,
    *,
    prompt: str,
    key: str,
    catalog: Catalog,
) -> Proposal | Refusal:
    """Open an incident paging level 1, or (a duplicate) a note on the open one."""
    reasons = list(request.reasons)
    fields: dict[str, Any]
    if duplicate_of is not None:
        d = duplicate_of
        name, fields = "add_note", {
            "incident_id": d.id,
            "content": f"Another alert for this problem (not paged again): {prompt[:2000]}",
        }
        reasons.append(f"incident #{d.number} ({d.title!r}) is already {d.status} on "
                       f"{service.name}: adding a note instead of paging twice")
        effects = ["nobody is paged"]
    else:
        first = next((o for o in oncall if o.level == 1), None)
        name, fields = "create_incident", {
            "service_id": service.id,
            "title": request.title or prompt[:255],
            "urgency": request.urgency or "high",
            "priority": request.priority,
            "assignee_id": first.user_id if first else None,
            "incident_key": key,
            "details": request.details,
        }
        if first:
            via = f" from schedule {first.schedule}" if first.schedule else " (direct)"
            reasons.append(f"{first.user} is on call at level 1{via}")
            effects = [f"pages {first.user}"]
        else:
            reasons.append("nobody is on call at level 1: PagerDuty will follow the escalation policy")
            effects = ["pages the escalation policy"]
    try:
        return build_proposal(name, fields, catalog, reasons=reasons, effects=effects)
    except ActionError as exc:
        return Refusal(why=str(exc))
