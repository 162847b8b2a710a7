"""State of the incident-response graph: typed models, stored as JSON.

Each field is a pydantic model, so a node reads `state.incident.number`, not
`state.incident["number"]`. LangGraph validates the state into these models
before every node; what a node returns goes through `changes()`, which dumps
models to JSON. So checkpoints keep the JSON shapes of earlier versions (a
thread paused before this module was typed resumes unchanged), Studio shows
plain JSON, surfaces read `values["proposal"]["summary"]`, and the msgpack
serializer never has to revive a class of ours (which LangGraph is moving to
refuse unless allow-listed).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from agent.actions import Proposal
from agent.approvals.protocol import Decision
from agent.approvals.questions import KINDS, QuestionKind
from agent.triage import TriageResult
from agent.triage.alert import AlertFields

__all__ = [
    "Back",
    "Candidate",
    "IncidentRow",
    "InputState",
    "OnCallRow",
    "OpenIncident",
    "Proposal",
    "QuestionKind",
    "Question",
    "Refusal",
    "RosterPlan",
    "Service",
    "State",
    "Status",
    "changes",
]

Status = Literal["running", "done", "failed", "rejected", "not_incident", "error"]
"""running; done; failed (an approved write did not complete); rejected; not_incident; error."""

Back = Literal["lookup_service", "find_incident", "propose_update", "check_roster"]
"""The nodes that ask a question, where the graph goes back to once it is answered."""


class _Row(BaseModel):
    # Keys a later version drops are ignored, so an old checkpoint still validates.
    model_config = ConfigDict(extra="ignore")


class Service(_Row):
    """The one catalog service a request is about."""

    id: str
    name: str
    escalation_policy_id: str
    html_url: str | None = None


class OnCallRow(_Row):
    """One entry of who is on call now, by escalation policy and level."""

    policy: str | None = None
    level: int
    user_id: str
    user: str | None = None
    schedule: str | None = None
    schedule_id: str | None = None
    until: str | None = None


class _Incident(_Row):
    id: str
    number: int | None = None
    title: str = ""
    status: str
    urgency: str | None = None
    service: str | None = None
    """The service's name."""
    html_url: str | None = None

    @property
    def label(self) -> str:
        return f"#{self.number}"


class OpenIncident(_Incident):
    """An open incident on the service a page is about (a possible duplicate)."""

    incident_key: str | None = None


class IncidentRow(_Incident):
    """The incident an update is about, as the approver needs to see it."""

    priority: str | None = None
    service_id: str | None = None
    assignees: list[str] = Field(default_factory=list)


class RosterPlan(_Row):
    """A checked roster change: who hands which schedule to whom, when, and who is on call then."""

    schedule_id: str
    schedule: str
    leaving_id: str
    leaving: str
    covering_id: str
    covering: str
    start: str
    end: str
    start_utc: str
    end_utc: str
    time_zone: str
    window: str
    notes: list[str] = Field(default_factory=list)
    before: str
    after: str
    reasons: list[str] = Field(default_factory=list)


class Candidate(_Row):
    """One answer a question offers, and why it is offered."""

    id: str
    name: str = ""
    email: str | None = None
    reasons: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _from_why(cls, data: Any) -> Any:
        """Threads paused by the previous version carry one `why` string."""
        if isinstance(data, dict) and "reasons" not in data and data.get("why"):
            return {**data, "reasons": [data["why"]]}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def why(self) -> str:
        """The reasons in one line, for a menu option's description."""
        return "; ".join(self.reasons)


class Question(_Row):
    """What `clarify` asks: which `kind` is meant for `role`, then back to node `back`."""

    kind: QuestionKind
    role: str
    text: str
    """The question in words, without how to answer it (each surface says that its own way)."""
    candidates: list[Candidate] = Field(default_factory=list)
    back: Back
    about: str = ""
    """The alert or request the question is about, as it was given."""
    forget: list[str] = Field(default_factory=list)
    """Earlier choices (by role) that this question replaces."""

    @property
    def arg(self) -> str:
        """The id field the answer sets."""
        return KINDS[self.kind].arg


class Refusal(BaseModel):
    """Nothing can be proposed, and why, in words for the person who asked."""

    why: str


class InputState(BaseModel):
    prompt: str
    """The alert or request, in plain words."""
    alert: AlertFields | None = None
    """An alert's structured fields (labels, source, custom details) when a monitoring
    system sent it (agent/intake): evidence for triage alongside the words."""


class State(InputState):
    request: TriageResult | None = None
    """Triage's typed reading of the prompt."""
    service: Service | None = None
    """The one catalog service the request is about."""
    oncall: list[OnCallRow] = Field(default_factory=list)
    """Who is on call now for the service's escalation policy (or every policy), by level."""
    open_incidents: list[OpenIncident] = Field(default_factory=list)
    """Open incidents on the service (triggered or acknowledged)."""
    duplicate_of: OpenIncident | None = None
    """An open incident for the same problem: we add a note instead of paging twice."""
    incident: IncidentRow | None = None
    """The incident an update is about."""
    override: RosterPlan | None = None
    """A checked roster change."""
    question: Question | None = None
    """What `clarify` asks next."""
    choices: dict[str, str] = Field(default_factory=dict)
    """Ids the human chose when asked, by role ("leaving", "covering", "incident", ...)."""
    proposal: Proposal | None = None
    """The exact write awaiting approval."""
    feedback: str | None = None
    """Why the last answer was refused (an invalid edit), shown when asking again."""
    decision: Decision | None = None
    """The human's decision and who made it."""
    result: dict[str, Any] | None = None
    """What the write returned (agent.actions.execute.summarize_result: differs by action)."""
    error: str | None = None
    """Why an approved write did not complete, in plain words (status `failed`)."""
    closed_by: Decision | None = None
    """Who closed a failed write without retrying it, and why."""
    status: Status = "running"
    report: str = ""
    """What was done, for the surface that asked."""


def changes(**fields: Any) -> dict[str, Any]:
    """A node's state update, models dumped to JSON (see the module docstring)."""
    return {k: _json(v) for k, v in fields.items()}


def _json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value
