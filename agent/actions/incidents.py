"""Incident writes: open one (page), or add a note to the one already open."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from agent.actions.base import Action, ActionError, ApiCall, Fields, ref, register
from agent.pagerduty.catalog import Catalog


class CreateIncident(Fields):
    service_id: str
    title: str = Field(min_length=1, max_length=255)
    urgency: Literal["high", "low"]
    priority: str | None = None
    assignee_id: str | None = None
    incident_key: str = Field(min_length=1, max_length=255)
    details: str = Field(default="", max_length=20_000)


def _service(catalog: Catalog, service_id: str):
    service = catalog.service(service_id)
    if service is None:
        raise ActionError(f"service {service_id!r} does not exist in this account")
    return service


def _build_create(f: CreateIncident, catalog: Catalog) -> ApiCall:
    _service(catalog, f.service_id)
    incident: dict = {
        "type": "incident",
        "title": f.title,
        "service": ref("service", f.service_id),
        "urgency": f.urgency,
        "incident_key": f.incident_key,
    }
    if f.details:
        incident["body"] = {"type": "incident_body", "details": f.details}
    if f.priority:
        priority = catalog.priority_by_name(f.priority) or catalog.priority(f.priority)
        if priority is None:
            names = ", ".join(p.name for p in catalog.priorities) or "none"
            raise ActionError(f"priority {f.priority!r} does not exist (known: {names})")
        incident["priority"] = ref("priority", priority.id)
    if f.assignee_id:
        if catalog.user(f.assignee_id) is None:
            raise ActionError(f"user {f.assignee_id!r} does not exist in this account")
        incident["assignments"] = [{"assignee": ref("user", f.assignee_id)}]
    return ApiCall(method="POST", path="/incidents", body={"incident": incident})


def _summarize_create(f: CreateIncident, catalog: Catalog) -> str:
    service = _service(catalog, f.service_id)
    who = catalog.user(f.assignee_id) if f.assignee_id else None
    paged = who.name if who else "the escalation policy's first level"
    prio = f" {f.priority}" if f.priority else ""
    return f"Open a {f.urgency}-urgency{prio} incident on {service.name}, paging {paged}: {f.title}"


class AddNote(Fields):
    incident_id: str = Field(min_length=1)
    content: str = Field(min_length=1, max_length=25_000)


def _build_note(f: AddNote, catalog: Catalog) -> ApiCall:
    return ApiCall(method="POST", path=f"/incidents/{f.incident_id}/notes", body={"note": {"content": f.content}})


def _summarize_note(f: AddNote, catalog: Catalog) -> str:
    text = f.content if len(f.content) <= 120 else f.content[:119] + "…"
    return f"Add a note to incident {f.incident_id}: {text}"


register(
    Action(
        name="create_incident",
        fields=CreateIncident,
        build=_build_create,
        summarize=_summarize_create,
        editable=("service_id", "title", "urgency", "priority", "assignee_id", "details"),
    )
)
register(
    Action(
        name="add_note",
        fields=AddNote,
        build=_build_note,
        summarize=_summarize_note,
        editable=("content",),
    )
)
