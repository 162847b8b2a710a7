"""State of the incident-response graph: JSON-friendly, so Studio shows it as is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class InputState:
    prompt: str
    """The alert or request, in plain words."""
    alert: dict[str, Any] | None = None
    """An alert's structured fields (labels, source, custom details) when a monitoring
    system sent it (agent/intake): evidence for triage alongside the words."""


@dataclass
class State(InputState):
    request: dict[str, Any] | None = None
    """Triage's typed reading of the prompt (agent.triage.TriageResult, as JSON)."""
    service: dict[str, Any] | None = None
    """The one catalog service the request is about: id, name, escalation policy."""
    oncall: list[dict[str, Any]] = field(default_factory=list)
    """Who is on call now for the service's escalation policy, by level."""
    open_incidents: list[dict[str, Any]] = field(default_factory=list)
    """Open incidents on the service (triggered or acknowledged)."""
    duplicate_of: dict[str, Any] | None = None
    """An open incident for the same problem: we add a note instead of paging twice."""
    incident: dict[str, Any] | None = None
    """The incident an update is about: id, number, title, status, service, assignees."""
    override: dict[str, Any] | None = None
    """A checked roster change: schedule, who leaves, who covers, window, on call before/after."""
    question: dict[str, Any] | None = None
    """What `clarify` asks next: kind (service/person/schedule/incident), role, text, candidates."""
    choices: dict[str, str] = field(default_factory=dict)
    """Ids the human chose when asked, by role ("leaving", "covering", "incident", ...)."""
    proposal: dict[str, Any] | None = None
    """The exact write awaiting approval (agent.actions.Proposal, as JSON)."""
    feedback: str | None = None
    """Why the last answer was refused (an invalid edit), shown when asking again."""
    decision: dict[str, Any] | None = None
    """The human's decision and who made it."""
    result: dict[str, Any] | None = None
    """What the write returned (incident id, number, link)."""
    error: str | None = None
    """Why an approved write did not complete, in plain words (status `failed`)."""
    closed_by: dict[str, Any] | None = None
    """Who closed a failed write without retrying it, and why."""
    status: str = "running"
    """running, done, failed (an approved write did not complete), rejected, not_incident, error."""
    report: str = ""
    """What was done, for the surface that asked."""
